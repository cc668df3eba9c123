-- "Delete my account": a signed-in musician removes their account and, through the
-- foreign keys' cascades, every row it owns (tunes, change counter, sessions). The
-- e-mail address must be typed again as confirmation. Applies unchanged to a hosted
-- Supabase project (the function's owner may delete from auth.users), and applies
-- cleanly twice in a row.

create or replace function public.delete_my_account(confirm_email text) returns void
language plpgsql security definer set search_path = '' as $$
declare
  uid uuid := auth.uid();
  address text;
begin
  if uid is null then
    raise exception 'sign in to delete your account' using errcode = '42501';
  end if;
  select email into address from auth.users where id = uid;
  if address is null or lower(trim(coalesce(confirm_email, ''))) <> lower(address) then
    raise exception 'the e-mail address does not match this account' using errcode = '22023';
  end if;
  delete from auth.users where id = uid;
end
$$;

revoke all on function public.delete_my_account(text) from public, anon;
grant execute on function public.delete_my_account(text) to authenticated;
