-- Everything a musician keeps around their tunes, synced: repertoires and their tunes,
-- notes, references and tags. Applies unchanged to a hosted Supabase project, and
-- applies cleanly twice in a row.
--
-- Every synced table has the same bookkeeping as `tune` (see 20261126000000_tune.sql):
-- user_id (so row level security, pulls and future realtime filters need no joins),
-- created_at, last_modified_at, sync_version, device_id, deleted (deletes are soft; no
-- DELETE policy) and change_number, all maintained by the same trigger from the one
-- per-user counter. So one cursor over every table reads the account's changes in
-- commit order (`pull_changes`), and one conditional push writes any of them
-- (`push_changes`), parents before children.
--
-- The tables must match the client's declarations in crates/core/src/tables.rs.

-- Children point at their parents through (id, user_id): a row can only hang under a
-- parent of the same account.
do $$
begin
  if not exists (select 1 from pg_constraint where conname = 'tune_id_user_id_key') then
    alter table public.tune add constraint tune_id_user_id_key unique (id, user_id);
  end if;
end
$$;

create table if not exists public.repertoire (
  id               uuid primary key,
  user_id          uuid not null default auth.uid() references auth.users (id) on delete cascade,
  name             text not null check (char_length(name) between 1 and 100),
  instrument       text check (char_length(instrument) <= 100),
  description      text check (char_length(description) <= 2000),
  created_at       timestamptz not null default now(),
  last_modified_at timestamptz not null default now(),
  sync_version     integer not null default 1,
  device_id        text check (char_length(device_id) <= 100),
  deleted          boolean not null default false,
  change_number    bigint not null default 0,
  unique (id, user_id),
  check (created_at >= '1970-01-01 00:00:00+00' and created_at < '2200-01-01 00:00:00+00'
         and last_modified_at >= '1970-01-01 00:00:00+00' and last_modified_at < '2200-01-01 00:00:00+00')
);

create table if not exists public.repertoire_tune (
  id               uuid primary key,
  user_id          uuid not null default auth.uid() references auth.users (id) on delete cascade,
  repertoire_id    uuid not null,
  tune_id          uuid not null,
  created_at       timestamptz not null default now(),
  last_modified_at timestamptz not null default now(),
  sync_version     integer not null default 1,
  device_id        text check (char_length(device_id) <= 100),
  deleted          boolean not null default false,
  change_number    bigint not null default 0,
  -- One membership per tune and repertoire (clients derive the id from the pair too).
  unique (repertoire_id, tune_id),
  foreign key (repertoire_id, user_id) references public.repertoire (id, user_id) on delete cascade,
  foreign key (tune_id, user_id) references public.tune (id, user_id) on delete cascade,
  check (created_at >= '1970-01-01 00:00:00+00' and created_at < '2200-01-01 00:00:00+00'
         and last_modified_at >= '1970-01-01 00:00:00+00' and last_modified_at < '2200-01-01 00:00:00+00')
);

create table if not exists public.note (
  id               uuid primary key,
  user_id          uuid not null default auth.uid() references auth.users (id) on delete cascade,
  tune_id          uuid not null,
  body             text not null check (char_length(body) between 1 and 10000),
  created_at       timestamptz not null default now(),
  last_modified_at timestamptz not null default now(),
  sync_version     integer not null default 1,
  device_id        text check (char_length(device_id) <= 100),
  deleted          boolean not null default false,
  change_number    bigint not null default 0,
  foreign key (tune_id, user_id) references public.tune (id, user_id) on delete cascade,
  check (created_at >= '1970-01-01 00:00:00+00' and created_at < '2200-01-01 00:00:00+00'
         and last_modified_at >= '1970-01-01 00:00:00+00' and last_modified_at < '2200-01-01 00:00:00+00')
);

create table if not exists public.reference (
  id               uuid primary key,
  user_id          uuid not null default auth.uid() references auth.users (id) on delete cascade,
  tune_id          uuid not null,
  url              text not null check (char_length(url) <= 2000 and url ~* '^https?://[^/?#\s]+'),
  kind             text not null
                   check (kind in ('website', 'audio', 'video', 'sheet-music', 'article', 'lesson', 'other')),
  title            text check (char_length(title) <= 200),
  comment          text check (char_length(comment) <= 2000),
  created_at       timestamptz not null default now(),
  last_modified_at timestamptz not null default now(),
  sync_version     integer not null default 1,
  device_id        text check (char_length(device_id) <= 100),
  deleted          boolean not null default false,
  change_number    bigint not null default 0,
  foreign key (tune_id, user_id) references public.tune (id, user_id) on delete cascade,
  check (created_at >= '1970-01-01 00:00:00+00' and created_at < '2200-01-01 00:00:00+00'
         and last_modified_at >= '1970-01-01 00:00:00+00' and last_modified_at < '2200-01-01 00:00:00+00')
);

create table if not exists public.tag (
  id               uuid primary key,
  user_id          uuid not null default auth.uid() references auth.users (id) on delete cascade,
  tune_id          uuid not null,
  name             text not null check (char_length(name) between 1 and 50),
  created_at       timestamptz not null default now(),
  last_modified_at timestamptz not null default now(),
  sync_version     integer not null default 1,
  device_id        text check (char_length(device_id) <= 100),
  deleted          boolean not null default false,
  change_number    bigint not null default 0,
  foreign key (tune_id, user_id) references public.tune (id, user_id) on delete cascade,
  check (created_at >= '1970-01-01 00:00:00+00' and created_at < '2200-01-01 00:00:00+00'
         and last_modified_at >= '1970-01-01 00:00:00+00' and last_modified_at < '2200-01-01 00:00:00+00')
);
-- Tags are case-insensitive: one per tune and spelling.
create unique index if not exists tag_tune_name on public.tag (tune_id, lower(name));

-- Per table: the pull's index, the bookkeeping triggers, row level security, grants.
-- tune_before_write() and lock_change_counter() touch only the bookkeeping columns
-- every synced table has, so they serve every table.
do $$
declare
  t text;
begin
  foreach t in array array['repertoire', 'repertoire_tune', 'note', 'reference', 'tag'] loop
    execute format('create index if not exists %I on public.%I (user_id, change_number)',
                   t || '_user_change_number', t);
    execute format('drop trigger if exists %I on public.%I', t || '_before_write', t);
    execute format('create trigger %I before insert or update on public.%I
                    for each row execute function public.tune_before_write()', t || '_before_write', t);
    execute format('drop trigger if exists %I on public.%I', t || '_lock_counter', t);
    execute format('create trigger %I before insert or update on public.%I
                    for each statement execute function public.lock_change_counter()', t || '_lock_counter', t);
    execute format('alter table public.%I enable row level security', t);
    execute format('drop policy if exists %I on public.%I', t || '_select_own', t);
    execute format('create policy %I on public.%I for select to authenticated
                    using (user_id = (select auth.uid()))', t || '_select_own', t);
    execute format('drop policy if exists %I on public.%I', t || '_insert_own', t);
    execute format('create policy %I on public.%I for insert to authenticated
                    with check (user_id = (select auth.uid()))', t || '_insert_own', t);
    execute format('drop policy if exists %I on public.%I', t || '_update_own', t);
    execute format('create policy %I on public.%I for update to authenticated
                    using (user_id = (select auth.uid())) with check (user_id = (select auth.uid()))',
                   t || '_update_own', t);
    execute format('revoke all on table public.%I from anon', t);
    execute format('revoke truncate, delete, references, trigger on table public.%I from authenticated', t);
    execute format('grant select, insert, update on table public.%I to authenticated', t);
    execute format('grant all on table public.%I to service_role', t);
  end loop;
end
$$;

-- Child rows are looked up by parent (cascades, the pages).
create index if not exists repertoire_tune_tune on public.repertoire_tune (tune_id);
create index if not exists note_tune on public.note (tune_id);
create index if not exists reference_tune on public.reference (tune_id);

-- One page of the pull: every table's rows changed after `after`, in change-number
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
    end,
    'changes', coalesce((select jsonb_agg(jsonb_build_object('table', tbl, 'row', row) order by change_number)
                         from page), '[]'::jsonb))
$$;

-- The conditional push of any synced table: each change is a row of its table plus
-- "table" and the "base_version" its edit started from. Per table, parents first, a
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
                or c ->> 'table' not in ('tune', 'repertoire', 'repertoire_tune', 'note', 'reference', 'tag')) then
    raise exception 'unknown table in changes' using errcode = '22023';
  end if;

  for spec in
    select * from (values
      (1, 'tune', array['title', 'type', 'structure', 'mode', 'genre', 'composer', 'artist', 'release_year',
                        'incipit'], array[]::text[], array[]::text[]),
      (2, 'repertoire', array['name', 'instrument', 'description'], array[]::text[], array[]::text[]),
      (3, 'repertoire_tune', array['repertoire_id', 'tune_id'], array['repertoire_id', 'tune_id'],
       array['repertoire', 'tune']),
      (4, 'note', array['tune_id', 'body'], array['tune_id'], array['tune']),
      (5, 'reference', array['tune_id', 'url', 'kind', 'title', 'comment'], array['tune_id'], array['tune']),
      (6, 'tag', array['tune_id', 'name'], array['tune_id'], array['tune'])
    ) as s(rank, tbl, columns, parent_columns, parent_tables)
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
