-- Tunebook's tunes. Applies unchanged to a hosted Supabase project (it relies only on
-- auth.uid(), auth.users and the API roles), and applies cleanly twice in a row.

create table if not exists public.tune (
  id               uuid primary key,
  user_id          uuid not null default auth.uid() references auth.users (id) on delete cascade,
  title            text not null check (char_length(title) between 1 and 200),
  type             text check (char_length(type) <= 200),
  structure        text check (char_length(structure) <= 200),
  mode             text check (char_length(mode) <= 200),
  genre            text check (char_length(genre) <= 200),
  composer         text check (char_length(composer) <= 200),
  artist           text check (char_length(artist) <= 200),
  release_year     integer check (release_year between 1000 and 9999),
  incipit          text check (char_length(incipit) <= 4000),
  created_at       timestamptz not null default now(),
  last_modified_at timestamptz not null default now(),
  -- Server-maintained: 1 on insert, +1 on every accepted write.
  sync_version     integer not null default 1,
  device_id        text,
  -- Deletes are soft so they reach every device; there is no DELETE policy.
  deleted          boolean not null default false,
  -- Server-maintained: the owner's change counter at this write (see below). Pulls read
  -- "change_number > cursor" in order and so never skip a row.
  change_number    bigint not null default 0
);

create index if not exists tune_user_change_number on public.tune (user_id, change_number);

-- One counter per user. The trigger bumps it with a row lock held until commit, so one
-- user's writes serialise and their change numbers increase in commit order.
create table if not exists public.user_change_counter (
  user_id     uuid primary key references auth.users (id) on delete cascade,
  last_change bigint not null default 0
);
-- No policies: the API roles cannot see or touch counters; only the trigger (security
-- definer) writes them.
alter table public.user_change_counter enable row level security;

create or replace function public.tune_before_write() returns trigger
language plpgsql security definer set search_path = '' as $$
begin
  if tg_op = 'INSERT' then
    new.sync_version := 1;
    new.created_at := coalesce(new.created_at, now());
    new.last_modified_at := coalesce(new.last_modified_at, now());
  else
    new.created_at := old.created_at;
    new.sync_version := old.sync_version + 1;
    -- A writer that does not say when the edit happened (the SQL editor, a script)
    -- gets the server's time.
    if new.last_modified_at is not distinct from old.last_modified_at then
      new.last_modified_at := now();
    end if;
  end if;
  -- Triggers run before row level security: a row without an owner (an anonymous
  -- insert) is left for the policies and the not-null constraint to refuse.
  if new.user_id is not null then
    insert into public.user_change_counter as c (user_id, last_change)
    values (new.user_id, 1)
    on conflict (user_id) do update set last_change = c.last_change + 1
    returning c.last_change into new.change_number;
  end if;
  return new;
end
$$;

drop trigger if exists tune_before_write on public.tune;
create trigger tune_before_write
  before insert or update on public.tune
  for each row execute function public.tune_before_write();

alter table public.tune enable row level security;

drop policy if exists tune_select_own on public.tune;
create policy tune_select_own on public.tune
  for select to authenticated using (user_id = (select auth.uid()));

drop policy if exists tune_insert_own on public.tune;
create policy tune_insert_own on public.tune
  for insert to authenticated with check (user_id = (select auth.uid()));

drop policy if exists tune_update_own on public.tune;
create policy tune_update_own on public.tune
  for update to authenticated
  using (user_id = (select auth.uid()))
  with check (user_id = (select auth.uid()));

grant select, insert, update on public.tune to authenticated;
