-- Hardening. Applies unchanged to a hosted Supabase project, and applies cleanly twice in
-- a row.
--
-- 1. Lock order. Every statement that writes a user's tunes first locks that user's change
--    counter (a statement-level trigger runs before any row is touched), then the rows.
--    A user's writers therefore queue on one lock instead of deadlocking on rows taken in
--    different orders (two pushes, or a PATCH racing a push).
-- 2. push_tunes is set-based (a few statements per call, not a loop that re-copies its
--    result per change) and refuses batches over 1,000 changes.
-- 3. Sane values only: timestamps between 1970 and 2200 (PostgreSQL also accepts
--    'infinity', which no client can read), device ids of at most 100 characters.
-- 4. Least privilege, as hosted projects grant it since 2026: the API roles get exactly
--    what the app uses, never TRUNCATE or DELETE, and cannot call the trigger functions.

create or replace function public.lock_change_counter() returns trigger
language plpgsql security definer set search_path = '' as $$
declare
  uid uuid := auth.uid();
begin
  if uid is not null then
    insert into public.user_change_counter (user_id, last_change) values (uid, 0)
    on conflict (user_id) do nothing;
    perform 1 from public.user_change_counter where user_id = uid for update;
  end if;
  return null;
end
$$;

drop trigger if exists tune_lock_counter on public.tune;
create trigger tune_lock_counter
  before insert or update on public.tune
  for each statement execute function public.lock_change_counter();

alter table public.tune drop constraint if exists tune_timestamps_in_range;
alter table public.tune add constraint tune_timestamps_in_range check (
  created_at >= '1970-01-01 00:00:00+00' and created_at < '2200-01-01 00:00:00+00'
  and last_modified_at >= '1970-01-01 00:00:00+00' and last_modified_at < '2200-01-01 00:00:00+00'
) not valid;
alter table public.tune drop constraint if exists tune_device_id_length;
alter table public.tune add constraint tune_device_id_length check (char_length(device_id) <= 100) not valid;

create or replace function public.push_tunes(changes jsonb) returns jsonb
language plpgsql security invoker set search_path = '' as $$
declare
  n integer;
  inserted uuid[];
  updated uuid[];
  results jsonb;
begin
  if jsonb_typeof(changes) is distinct from 'array' then
    raise exception 'changes must be a JSON array' using errcode = '22023';
  end if;
  n := jsonb_array_length(changes);
  if n > 1000 then
    raise exception 'at most 1000 changes per call, got %', n using errcode = '22023';
  end if;
  if (select count(distinct c ->> 'id') from jsonb_array_elements(changes) c) <> n then
    raise exception 'each tune may appear once per call' using errcode = '22023';
  end if;

  -- New tunes first (its statement trigger takes the counter lock before any row lock),
  -- in id order. An id that exists but is hidden by row level security conflicts and is
  -- left alone; so does one that the same user's concurrent push inserted first, which
  -- the statements below then see and compare like any existing row.
  with input as (
    select * from jsonb_to_recordset(changes) as c(
      id uuid, title text, type text, structure text, mode text, genre text, composer text,
      artist text, release_year integer, incipit text, created_at timestamptz,
      last_modified_at timestamptz, device_id text, deleted boolean)
  ), ins as (
    insert into public.tune (id, title, type, structure, mode, genre, composer, artist,
                             release_year, incipit, created_at, last_modified_at, device_id, deleted)
    select i.id, i.title, i.type, i.structure, i.mode, i.genre, i.composer, i.artist,
           i.release_year, i.incipit, coalesce(i.created_at, now()), coalesce(i.last_modified_at, now()),
           i.device_id, coalesce(i.deleted, false)
    from input i
    where not exists (select 1 from public.tune t where t.id = i.id)
    order by i.id
    on conflict (id) do nothing
    returning id
  )
  select coalesce(array_agg(id), '{}') into inserted from ins;

  -- Existing tunes: written only if the row still has the version the edit started from
  -- and the content differs (an identical row is a retry after a lost reply: applied).
  with input as (
    select * from jsonb_to_recordset(changes) as c(
      id uuid, title text, type text, structure text, mode text, genre text, composer text,
      artist text, release_year integer, incipit text, last_modified_at timestamptz,
      device_id text, deleted boolean, base_version integer)
  ), upd as (
    update public.tune t set
      title = i.title, type = i.type, structure = i.structure, mode = i.mode, genre = i.genre,
      composer = i.composer, artist = i.artist, release_year = i.release_year, incipit = i.incipit,
      last_modified_at = coalesce(i.last_modified_at, now()), device_id = i.device_id,
      deleted = coalesce(i.deleted, false)
    from input i
    where t.id = i.id
      and t.id <> all (inserted)
      and t.sync_version = i.base_version
      and (t.title, t.type, t.structure, t.mode, t.genre, t.composer, t.artist, t.release_year,
           t.incipit, t.deleted)
          is distinct from
          (i.title, i.type, i.structure, i.mode, i.genre, i.composer, i.artist, i.release_year,
           i.incipit, coalesce(i.deleted, false))
    returning t.id
  )
  select coalesce(array_agg(id), '{}') into updated from upd;

  select coalesce(jsonb_agg(
    case
      when t.id is null then
        jsonb_build_object('id', i.id, 'status', 'error', 'code', '42501',
                           'message', 'this tune belongs to another account')
      when t.id = any (inserted) or t.id = any (updated)
        or (t.title, t.type, t.structure, t.mode, t.genre, t.composer, t.artist, t.release_year,
            t.incipit, t.deleted)
           is not distinct from
           (i.title, i.type, i.structure, i.mode, i.genre, i.composer, i.artist, i.release_year,
            i.incipit, coalesce(i.deleted, false)) then
        jsonb_build_object('id', i.id, 'status', 'applied', 'row', to_jsonb(t))
      else
        jsonb_build_object('id', i.id, 'status', 'conflict', 'row', to_jsonb(t))
    end
    order by e.ord), '[]'::jsonb)
  into results
  from jsonb_array_elements(changes) with ordinality as e(change, ord)
  cross join lateral jsonb_to_record(e.change) as i(
    id uuid, title text, type text, structure text, mode text, genre text, composer text,
    artist text, release_year integer, incipit text, deleted boolean)
  left join public.tune t on t.id = i.id;
  return results;
end
$$;

revoke all on function public.push_tunes(jsonb) from public, anon;
grant execute on function public.push_tunes(jsonb) to authenticated;

revoke all on table public.tune from anon;
revoke truncate, delete, references, trigger on table public.tune from authenticated;
grant select, insert, update on table public.tune to authenticated;
grant all on table public.tune to service_role;
revoke all on table public.user_change_counter from anon, authenticated;
revoke execute on function public.tune_before_write() from public, anon, authenticated;
revoke execute on function public.lock_change_counter() from public, anon, authenticated;
