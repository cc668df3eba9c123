-- Realtime change hints: every accepted write on a synced table tells the owner's devices
-- that there is something new to pull, over a private Supabase Realtime broadcast channel.
-- Applies unchanged to a hosted Supabase project, and applies cleanly twice in a row.
--
-- A hint is `{"change_number": n}` (hosted Realtime adds the message's `id`), event
-- `change`, on the topic `user:<uid>`: n is the highest change number the statement gave
-- that user's rows. It carries no data: a device whose pull cursor is already at n or
-- past it ignores it, any other pulls as it always does, through row level security.
-- One hint per statement and user, not per row: a push of 1,000 tunes sends one. Sent
-- with `realtime.send`, which only queues the message: it reaches subscribers when the
-- transaction commits, and a failure to send never fails the write.
--
-- Private channels are authorised by row level security on `realtime.messages`: the
-- SELECT policy below lets a signed-in user join only their own topic. (Supabase's
-- advice for this: broadcast from the database, not `postgres_changes`, which checks
-- row level security once per subscriber per change and sends only keys for deletes.)

create or replace function public.send_change_hint() returns trigger
language plpgsql security definer set search_path = '' as $$
declare
  owner record;
begin
  for owner in
    select c.user_id, max(c.change_number) as change_number
    from changed c
    where c.user_id is not null and c.change_number is not null
    group by c.user_id
  loop
    perform realtime.send(
      jsonb_build_object('change_number', owner.change_number),
      'change',
      'user:' || owner.user_id::text,
      true
    );
  end loop;
  return null;
end
$$;

revoke execute on function public.send_change_hint() from public, anon, authenticated;

-- A trigger with a transition table takes one event, so inserts and updates each have
-- one. (Rows are never deleted by their owners: a delete is an update to a tombstone.)
do $$
declare
  t text;
begin
  foreach t in array array['tune', 'repertoire', 'repertoire_tune', 'note', 'reference', 'tag',
                           'practice_record'] loop
    execute format('drop trigger if exists %I on public.%I', t || '_hint_insert', t);
    execute format('create trigger %I after insert on public.%I referencing new table as changed
                    for each statement execute function public.send_change_hint()', t || '_hint_insert', t);
    execute format('drop trigger if exists %I on public.%I', t || '_hint_update', t);
    execute format('create trigger %I after update on public.%I referencing new table as changed
                    for each statement execute function public.send_change_hint()', t || '_hint_update', t);
  end loop;
end
$$;

drop policy if exists "a musician hears their own change hints" on realtime.messages;
create policy "a musician hears their own change hints" on realtime.messages
  for select to authenticated
  using (
    realtime.messages.extension = 'broadcast'
    and (select realtime.topic()) = 'user:' || (select auth.uid())::text
  );
