-- Change numbers for a musician's own writes without touching the counter row once per
-- row. Applies unchanged to a hosted Supabase project, and applies cleanly twice in a row.
--
-- Every write statement by a signed-in user already locks that user's counter row
-- first (lock_change_counter, a statement-level trigger, 20261126000200_hardening.sql),
-- and holds the lock until commit. While it is held nobody else can take a number from
-- that counter, so the statement can hand out the numbers from a transaction-local
-- setting (the row trigger) and write the last one back once (an after-statement
-- trigger). Numbers stay per user and increasing in commit
-- order. Writes by anyone else (the service role, the SQL editor) keep taking numbers
-- row by row from the counter itself, queueing behind the lock.

create or replace function public.lock_change_counter() returns trigger
language plpgsql security definer set search_path = '' as $$
declare
  uid uuid := auth.uid();
  last bigint;
begin
  if uid is not null then
    insert into public.user_change_counter (user_id, last_change) values (uid, 0)
    on conflict (user_id) do nothing;
    select c.last_change into last from public.user_change_counter c where c.user_id = uid for update;
    perform set_config('tunebook.change_user', uid::text, true);
    perform set_config('tunebook.last_change', last::text, true);
  end if;
  return null;
end
$$;

create or replace function public.store_change_counter() returns trigger
language plpgsql security definer set search_path = '' as $$
declare
  uid text := current_setting('tunebook.change_user', true);
  last text := current_setting('tunebook.last_change', true);
begin
  if coalesce(uid, '') <> '' and coalesce(last, '') <> '' then
    update public.user_change_counter set last_change = last::bigint
    where user_id = uid::uuid and last_change < last::bigint;
  end if;
  return null;
end
$$;

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
    if new.user_id::text = current_setting('tunebook.change_user', true) then
      -- The owner's own statement holds the counter (see above).
      new.change_number := current_setting('tunebook.last_change')::bigint + 1;
      perform set_config('tunebook.last_change', new.change_number::text, true);
    else
      insert into public.user_change_counter as c (user_id, last_change)
      values (new.user_id, 1)
      on conflict (user_id) do update set last_change = c.last_change + 1
      returning c.last_change into new.change_number;
    end if;
  end if;
  return new;
end
$$;

do $$
declare
  t text;
begin
  foreach t in array array['tune', 'repertoire', 'repertoire_tune', 'note', 'reference', 'tag'] loop
    execute format('drop trigger if exists %I on public.%I', t || '_store_counter', t);
    execute format('create trigger %I after insert or update on public.%I
                    for each statement execute function public.store_change_counter()', t || '_store_counter', t);
  end loop;
end
$$;

revoke execute on function public.store_change_counter() from public, anon, authenticated;
