-- A push's reply names an applied change's new version and owner instead of repeating
-- the whole row: the row's content is exactly what the client sent (it was inserted or
-- updated from it, or already equal to it), so the client keeps that as its merge base.
-- A thousand applied tunes were ~600 KB of reply to build, send and parse; now ~160 KB.
-- Conflicts still carry the server's row. Clients ask for the short reply with
-- "versions_only": true; a client from before (a cached app, not yet updated) sends only
-- "changes" and still gets whole rows. Applies unchanged to a hosted Supabase project, and
-- applies cleanly twice in a row.

drop function if exists public.push_changes(jsonb);

-- The conditional push of any synced table (as in 20261129000000_abc.sql, answering an
-- applied change with its new version and owner only): each change is a row of its table
-- plus "table" and the "base_version" its edit started from. Per table, parents first, a
-- few set-based statements (no loop per row):
--   1. new rows whose parents are here are inserted, in id order (a row that exists but
--      is hidden by row level security, or that breaks a unique rule, is left alone);
--   2. existing rows still at the change's base version, whose content differs, are
--      updated (an identical row is a retry after a lost reply: applied);
--   3. one result per change, in input order: applied (with the row's new sync_version
--      and user_id: its content is what the client sent), conflict
--      (with the server's row), or error: 23503 when its parent has not arrived (the
--      client waits and sends it again), 42501 when the id is another account's.
-- At most 1000 changes per call, each row at most once.
create or replace function public.push_changes(changes jsonb, versions_only boolean default false) returns jsonb
language plpgsql security invoker set search_path = '' as $$
declare
  n integer;
  spec record;
  batch jsonb;
  cols text;
  i_cols text;
  set_cols text;
  parents_ok text;
  inserted uuid[];
  updated uuid[];
  part jsonb;
  results jsonb := '[]'::jsonb;
begin
  if jsonb_typeof(changes) is distinct from 'array' then
    raise exception 'changes must be a JSON array' using errcode = '22023';
  end if;
  n := jsonb_array_length(changes);
  if n > 1000 then
    raise exception 'at most 1000 changes per call, got %', n using errcode = '22023';
  end if;
  if (select count(distinct (c ->> 'table', c ->> 'id')) from jsonb_array_elements(changes) c) <> n then
    raise exception 'each row may appear once per call' using errcode = '22023';
  end if;
  if exists (select 1 from jsonb_array_elements(changes) c
             where c ->> 'table' is null
                or c ->> 'table' not in ('tune', 'repertoire', 'repertoire_tune', 'note', 'reference', 'tag',
                                        'practice_record')) then
    raise exception 'unknown table in changes' using errcode = '22023';
  end if;

  for spec in
    select * from (values
      (1, 'tune', array['title', 'type', 'structure', 'mode', 'genre', 'composer', 'artist', 'release_year',
                        'incipit', 'abc'], array[]::text[], array[]::text[], false),
      (2, 'repertoire', array['name', 'instrument', 'description', 'desired_retention', 'max_reviews_per_day',
                              'new_per_day', 'max_interval'], array[]::text[], array[]::text[], false),
      (3, 'repertoire_tune', array['repertoire_id', 'tune_id'], array['repertoire_id', 'tune_id'],
       array['repertoire', 'tune'], false),
      (4, 'note', array['tune_id', 'body'], array['tune_id'], array['tune'], false),
      (5, 'reference', array['tune_id', 'url', 'kind', 'title', 'comment'], array['tune_id'], array['tune'], false),
      (6, 'tag', array['tune_id', 'name'], array['tune_id'], array['tune'], false),
      (7, 'practice_record', array['repertoire_id', 'tune_id', 'kind', 'practised_at', 'rating', 'undoes', 'due',
                                   'interval_days', 'stability', 'difficulty', 'state', 'reps', 'lapses'],
       array['repertoire_id', 'tune_id'], array['repertoire', 'tune'], true)
    ) as s(rank, tbl, columns, parent_columns, parent_tables, insert_only)
    order by rank
  loop
    select jsonb_agg(c || jsonb_build_object('_ord', ord) order by ord) into batch
    from jsonb_array_elements(changes) with ordinality as e(c, ord)
    where c ->> 'table' = spec.tbl;
    continue when batch is null;

    select string_agg(format('%I', c), ', '), string_agg(format('i.%I', c), ', '),
           string_agg(format('%I = i.%I', c, c), ', ')
    into cols, i_cols, set_cols
    from unnest(spec.columns) c;
    select coalesce(string_agg(format('exists (select 1 from public.%I p where p.id = i.%I)', pt, pc), ' and '),
                    'true')
    into parents_ok
    from unnest(spec.parent_columns, spec.parent_tables) as p(pc, pt);

    execute format($sql$
      with ins as (
        insert into public.%1$I (id, %2$s, created_at, last_modified_at, device_id, deleted)
        select i.id, %3$s, coalesce(i.created_at, now()), coalesce(i.last_modified_at, now()), i.device_id,
               coalesce(i.deleted, false)
        from jsonb_populate_recordset(null::public.%1$I, $1) i
        where not exists (select 1 from public.%1$I t where t.id = i.id) and %4$s
        order by i.id
        on conflict do nothing
        returning id
      )
      select coalesce(array_agg(id), '{}') from ins
    $sql$, spec.tbl, cols, i_cols, parents_ok)
    into inserted using batch;

    -- Insert-only tables (practice history) are never updated: authenticated may not.
    updated := '{}';
    if not spec.insert_only then
    execute format($sql$
      with upd as (
        update public.%1$I t set %2$s, last_modified_at = coalesce(i.last_modified_at, now()),
               device_id = i.device_id, deleted = coalesce(i.deleted, false)
        from jsonb_populate_recordset(null::public.%1$I, $1) i
        join jsonb_to_recordset($1) as b(id uuid, base_version integer) on b.id = i.id
        where t.id = i.id
          and t.id <> all ($2)
          and t.sync_version = b.base_version
          and (%3$s, t.deleted) is distinct from (%4$s, coalesce(i.deleted, false))
        returning t.id
      )
      select coalesce(array_agg(id), '{}') from upd
    $sql$, spec.tbl, set_cols, 't.' || replace(cols, ', ', ', t.'), i_cols)
    into updated using batch, inserted;
    end if;

    execute format($sql$
      select coalesce(jsonb_agg(jsonb_build_object('ord', (e.c ->> '_ord')::int, 'result',
        case
          when t.id is null and not (%3$s) then
            jsonb_build_object('table', %4$L, 'id', i.id, 'status', 'error', 'code', '23503',
                               'message', 'its parent has not reached the server yet')
          when t.id is null then
            jsonb_build_object('table', %4$L, 'id', i.id, 'status', 'error', 'code', '42501',
                               'message', 'this row belongs to another account or breaks a unique rule')
          when t.id = any ($2) or t.id = any ($3)
            or (%2$s, t.deleted) is not distinct from (%5$s, coalesce(i.deleted, false)) then
            case when $4
              then jsonb_build_object('table', %4$L, 'id', i.id, 'status', 'applied',
                                      'sync_version', t.sync_version, 'user_id', t.user_id)
              else jsonb_build_object('table', %4$L, 'id', i.id, 'status', 'applied', 'row', to_jsonb(t)) end
          else
            jsonb_build_object('table', %4$L, 'id', i.id, 'status', 'conflict', 'row', to_jsonb(t))
        end)), '[]'::jsonb)
      from jsonb_array_elements($1) as e(c)
      cross join lateral jsonb_populate_record(null::public.%1$I, e.c) i
      left join public.%1$I t on t.id = i.id
    $sql$, spec.tbl, 't.' || replace(cols, ', ', ', t.'), parents_ok, spec.tbl, i_cols)
    into part using batch, inserted, updated, versions_only;
    results := results || part;
  end loop;

  return (select coalesce(jsonb_agg(r -> 'result' order by (r ->> 'ord')::int), '[]'::jsonb)
          from jsonb_array_elements(results) r);
end
$$;

revoke all on function public.push_changes(jsonb, boolean) from public, anon;
grant execute on function public.push_changes(jsonb, boolean) to authenticated;
