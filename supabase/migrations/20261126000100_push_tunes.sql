-- Conditional writes for sync. Applies unchanged to a hosted Supabase project, and
-- applies cleanly twice in a row.
--
-- push_tunes(changes) applies each change only if the server's row still has the version
-- the device's edit started from (`base_version`), and reports per change:
--   {"id", "status": "applied", "row": <the stored row>}   written (or already identical)
--   {"id", "status": "conflict", "row": <the server's row>} someone else changed it first
--   {"id", "status": "error", "code", "message"}            another account's tune
-- Row level security applies as usual (security invoker). A change that breaks a
-- constraint fails the call (HTTP 400); the client then splits the batch so that one
-- bad change never holds up the others.
create or replace function public.push_tunes(changes jsonb) returns jsonb
language plpgsql security invoker set search_path = '' as $$
declare
  change jsonb;
  tune_id uuid;
  existing public.tune;
  stored public.tune;
  results jsonb := '[]'::jsonb;
begin
  if jsonb_typeof(changes) is distinct from 'array' then
    raise exception 'changes must be a JSON array' using errcode = '22023';
  end if;
  -- No per-change exception handling (a subtransaction per row costs several times the
  -- write): a change that breaks a constraint fails the whole call, and the client
  -- splits the batch until that change stands alone.
  for change in select value from jsonb_array_elements(changes) loop
    tune_id := (change ->> 'id')::uuid;
    select * into existing from public.tune where id = tune_id for update;
    if not found then
      insert into public.tune (id, title, type, structure, mode, genre, composer, artist,
                               release_year, incipit, created_at, last_modified_at, device_id, deleted)
      values (tune_id, change ->> 'title', change ->> 'type', change ->> 'structure',
              change ->> 'mode', change ->> 'genre', change ->> 'composer', change ->> 'artist',
              (change ->> 'release_year')::integer, change ->> 'incipit',
              coalesce((change ->> 'created_at')::timestamptz, now()),
              coalesce((change ->> 'last_modified_at')::timestamptz, now()),
              change ->> 'device_id', coalesce((change ->> 'deleted')::boolean, false))
      on conflict (id) do nothing
      returning * into stored;
      if stored.id is null then
        -- The id exists but row level security hides it: another account's tune.
        results := results || jsonb_build_object('id', tune_id, 'status', 'error', 'code', '42501',
                                                 'message', 'this tune belongs to another account');
      else
        results := results || jsonb_build_object('id', tune_id, 'status', 'applied', 'row', to_jsonb(stored));
      end if;
    elsif existing.title is not distinct from change ->> 'title'
      and existing.type is not distinct from change ->> 'type'
      and existing.structure is not distinct from change ->> 'structure'
      and existing.mode is not distinct from change ->> 'mode'
      and existing.genre is not distinct from change ->> 'genre'
      and existing.composer is not distinct from change ->> 'composer'
      and existing.artist is not distinct from change ->> 'artist'
      and existing.release_year is not distinct from (change ->> 'release_year')::integer
      and existing.incipit is not distinct from change ->> 'incipit'
      and existing.deleted is not distinct from coalesce((change ->> 'deleted')::boolean, false) then
      -- Already so (a retry after a lost reply, or the same edit made twice): nothing to write.
      results := results || jsonb_build_object('id', tune_id, 'status', 'applied', 'row', to_jsonb(existing));
    elsif existing.sync_version = (change ->> 'base_version')::integer then
      update public.tune set
        title = change ->> 'title', type = change ->> 'type', structure = change ->> 'structure',
        mode = change ->> 'mode', genre = change ->> 'genre', composer = change ->> 'composer',
        artist = change ->> 'artist', release_year = (change ->> 'release_year')::integer,
        incipit = change ->> 'incipit',
        last_modified_at = coalesce((change ->> 'last_modified_at')::timestamptz, now()),
        device_id = change ->> 'device_id', deleted = coalesce((change ->> 'deleted')::boolean, false)
      where id = tune_id
      returning * into stored;
      results := results || jsonb_build_object('id', tune_id, 'status', 'applied', 'row', to_jsonb(stored));
    else
      results := results || jsonb_build_object('id', tune_id, 'status', 'conflict', 'row', to_jsonb(existing));
    end if;
    stored := null;
  end loop;
  return results;
end
$$;

revoke all on function public.push_tunes(jsonb) from public, anon;
grant execute on function public.push_tunes(jsonb) to authenticated;
