-- Practice: spaced-repetition history per repertoire, and each repertoire's practice
-- settings. Applies unchanged to a hosted Supabase project, and applies cleanly twice
-- in a row. Must match the client's declarations in crates/core/src/tables.rs.
--
-- A practice record is history: a rating with the scheduler's state after it, a
-- one-off "schedule for" date, or the undoing of an earlier rating. Records are only
-- ever inserted (no UPDATE grant or policy, no DELETE) so they can never conflict; each
-- device derives a tune's schedule from them. Times are milliseconds since the epoch.

alter table public.repertoire add column if not exists desired_retention double precision
  check (desired_retention between 0.7 and 0.99);
alter table public.repertoire add column if not exists max_reviews_per_day integer
  check (max_reviews_per_day between 0 and 1000);
alter table public.repertoire add column if not exists new_per_day integer
  check (new_per_day between 0 and 100);
alter table public.repertoire add column if not exists max_interval integer
  check (max_interval between 1 and 36500);

create table if not exists public.practice_record (
  id               uuid primary key,
  user_id          uuid not null default auth.uid() references auth.users (id) on delete cascade,
  repertoire_id    uuid not null,
  tune_id          uuid not null,
  kind             text not null check (kind in ('rating', 'schedule', 'undo')),
  practised_at     bigint not null check (practised_at between 0 and 7258118400000),
  rating           integer check (rating between 1 and 4),
  undoes           uuid,
  due              bigint check (due between 0 and 7258118400000),
  interval_days    integer check (interval_days between 1 and 36500),
  stability        double precision check (stability > 0 and stability < 1e6),
  difficulty       double precision check (difficulty between 1 and 10),
  state            text check (state in ('learning', 'review', 'relearning')),
  reps             integer check (reps >= 1),
  lapses           integer check (lapses >= 0),
  created_at       timestamptz not null default now(),
  last_modified_at timestamptz not null default now(),
  sync_version     integer not null default 1,
  device_id        text check (char_length(device_id) <= 100),
  deleted          boolean not null default false check (not deleted),
  change_number    bigint not null default 0,
  check (kind <> 'rating' or (rating is not null and due is not null and interval_days is not null
                              and stability is not null and difficulty is not null and state is not null
                              and reps is not null and lapses is not null)),
  check (kind <> 'schedule' or due is not null),
  check (kind <> 'undo' or undoes is not null),
  foreign key (repertoire_id, user_id) references public.repertoire (id, user_id) on delete cascade,
  foreign key (tune_id, user_id) references public.tune (id, user_id) on delete cascade,
  check (created_at >= '1970-01-01 00:00:00+00' and created_at < '2200-01-01 00:00:00+00'
         and last_modified_at >= '1970-01-01 00:00:00+00' and last_modified_at < '2200-01-01 00:00:00+00')
);
create index if not exists practice_record_user_change_number on public.practice_record (user_id, change_number);
create index if not exists practice_record_tune on public.practice_record (tune_id);

drop trigger if exists practice_record_before_write on public.practice_record;
create trigger practice_record_before_write before insert or update on public.practice_record
  for each row execute function public.tune_before_write();
drop trigger if exists practice_record_lock_counter on public.practice_record;
create trigger practice_record_lock_counter before insert or update on public.practice_record
  for each statement execute function public.lock_change_counter();
drop trigger if exists practice_record_store_counter on public.practice_record;
create trigger practice_record_store_counter after insert or update on public.practice_record
  for each statement execute function public.store_change_counter();

alter table public.practice_record enable row level security;
drop policy if exists practice_record_select_own on public.practice_record;
create policy practice_record_select_own on public.practice_record for select to authenticated
  using (user_id = (select auth.uid()));
drop policy if exists practice_record_insert_own on public.practice_record;
create policy practice_record_insert_own on public.practice_record for insert to authenticated
  with check (user_id = (select auth.uid()));
revoke all on table public.practice_record from anon;
revoke update, truncate, delete, references, trigger on table public.practice_record from authenticated;
grant select, insert on table public.practice_record to authenticated;
grant all on table public.practice_record to service_role;

-- One page of the pull (as in 20261127000000_library.sql, with practice records):
-- every table's rows changed after `after`, in change-number
-- (= commit) order, at most `max_rows` (≤ 1000). `with_total` also counts everything
-- after `after`, for a progress indicator. Reply: {"total": n | null, "changes":
-- [{"table": "note", "row": {…}}, …]}.
create or replace function public.pull_changes(after bigint, max_rows integer default 1000,
                                               with_total boolean default false)
returns jsonb
language sql stable security invoker set search_path = '' as $$
  with lim as (select least(greatest(coalesce(max_rows, 1000), 1), 1000) as n),
  changes as (
    (select 'tune' as tbl, t.change_number, to_jsonb(t) as row from public.tune t
     where t.user_id = (select auth.uid()) and t.change_number > after
     order by t.change_number limit (select n from lim))
    union all
    (select 'repertoire', t.change_number, to_jsonb(t) from public.repertoire t
     where t.user_id = (select auth.uid()) and t.change_number > after
     order by t.change_number limit (select n from lim))
    union all
    (select 'repertoire_tune', t.change_number, to_jsonb(t) from public.repertoire_tune t
     where t.user_id = (select auth.uid()) and t.change_number > after
     order by t.change_number limit (select n from lim))
    union all
    (select 'note', t.change_number, to_jsonb(t) from public.note t
     where t.user_id = (select auth.uid()) and t.change_number > after
     order by t.change_number limit (select n from lim))
    union all
    (select 'reference', t.change_number, to_jsonb(t) from public.reference t
     where t.user_id = (select auth.uid()) and t.change_number > after
     order by t.change_number limit (select n from lim))
    union all
    (select 'tag', t.change_number, to_jsonb(t) from public.tag t
     where t.user_id = (select auth.uid()) and t.change_number > after
     order by t.change_number limit (select n from lim))
    union all
    (select 'practice_record', t.change_number, to_jsonb(t) from public.practice_record t
     where t.user_id = (select auth.uid()) and t.change_number > after
     order by t.change_number limit (select n from lim))
  ),
  page as (select * from changes order by change_number limit (select n from lim))
  select jsonb_build_object(
    'total', case when with_total then
      (select count(*) from public.tune where user_id = (select auth.uid()) and change_number > after)
      + (select count(*) from public.repertoire where user_id = (select auth.uid()) and change_number > after)
      + (select count(*) from public.repertoire_tune where user_id = (select auth.uid()) and change_number > after)
      + (select count(*) from public.note where user_id = (select auth.uid()) and change_number > after)
      + (select count(*) from public.reference where user_id = (select auth.uid()) and change_number > after)
      + (select count(*) from public.tag where user_id = (select auth.uid()) and change_number > after)
      + (select count(*) from public.practice_record where user_id = (select auth.uid()) and change_number > after)
    end,
    'changes', coalesce((select jsonb_agg(jsonb_build_object('table', tbl, 'row', row) order by change_number)
                         from page), '[]'::jsonb))
$$;

-- The conditional push of any synced table (as in 20261127000000_library.sql, with
-- practice records, which are only ever inserted): each change is a row of its table
-- plus "table" and the "base_version" its edit started from. Per table, parents first, a
-- few set-based statements (no loop per row):
--   1. new rows whose parents are here are inserted, in id order (a row that exists but
--      is hidden by row level security, or that breaks a unique rule, is left alone);
--   2. existing rows still at the change's base version, whose content differs, are
--      updated (an identical row is a retry after a lost reply: applied);
--   3. one result per change, in input order: applied (with the stored row), conflict
--      (with the server's row), or error: 23503 when its parent has not arrived (the
--      client waits and sends it again), 42501 when the id is another account's.
-- At most 1000 changes per call, each row at most once.
create or replace function public.push_changes(changes jsonb) returns jsonb
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
                        'incipit'], array[]::text[], array[]::text[], false),
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
            jsonb_build_object('table', %4$L, 'id', i.id, 'status', 'applied', 'row', to_jsonb(t))
          else
            jsonb_build_object('table', %4$L, 'id', i.id, 'status', 'conflict', 'row', to_jsonb(t))
        end)), '[]'::jsonb)
      from jsonb_array_elements($1) as e(c)
      cross join lateral jsonb_populate_record(null::public.%1$I, e.c) i
      left join public.%1$I t on t.id = i.id
    $sql$, spec.tbl, 't.' || replace(cols, ', ', ', t.'), parents_ok, spec.tbl, i_cols)
    into part using batch, inserted, updated;
    results := results || part;
  end loop;

  return (select coalesce(jsonb_agg(r -> 'result' order by (r ->> 'ord')::int), '[]'::jsonb)
          from jsonb_array_elements(results) r);
end
$$;

revoke all on function public.pull_changes(bigint, integer, boolean) from public, anon;
grant execute on function public.pull_changes(bigint, integer, boolean) to authenticated;
revoke all on function public.push_changes(jsonb) from public, anon;
grant execute on function public.push_changes(jsonb) to authenticated;
