-- LOCAL ONLY. Never apply to a hosted Supabase project: it already has all of this.
--
-- Recreates the parts of a hosted project that the migrations and the app rely on:
-- the API roles, the auth schema with its users table and helper functions, the
-- extensions schema, and the CLI's migration history table. The local auth stand-in
-- (backend/) keeps its sessions and refresh tokens here as GoTrue does.
-- Idempotent: applied on every start of the local stack.

create schema if not exists extensions;
create extension if not exists pgcrypto with schema extensions;

do $$
begin
  if not exists (select 1 from pg_roles where rolname = 'anon') then
    create role anon nologin noinherit;
  end if;
  if not exists (select 1 from pg_roles where rolname = 'authenticated') then
    create role authenticated nologin noinherit;
  end if;
  if not exists (select 1 from pg_roles where rolname = 'service_role') then
    create role service_role nologin noinherit bypassrls;
  end if;
  if not exists (select 1 from pg_roles where rolname = 'authenticator') then
    create role authenticator login noinherit password 'postgres';
  end if;
end
$$;

grant anon, authenticated, service_role to authenticator;

-- As on hosted projects since 2026: the API roles may use the schema, but a new table or
-- function grants them nothing until a migration says so, so a migration that forgets a
-- grant fails here as it would there. (Earlier local stacks granted everything by
-- default; the revokes remove that from their databases.)
grant usage on schema public, extensions to anon, authenticated, service_role;
alter default privileges in schema public revoke all on tables from anon, authenticated, service_role;
alter default privileges in schema public revoke all on functions from anon, authenticated, service_role;
alter default privileges in schema public revoke all on sequences from anon, authenticated, service_role;

-- Hosted projects' statement timeouts for the API roles: one slow request cannot hold
-- a PostgREST connection for long. (PostgREST applies the role's settings when it
-- switches to the role.)
alter role anon set statement_timeout = '3s';
alter role authenticated set statement_timeout = '8s';

create schema if not exists auth;
grant usage on schema auth to anon, authenticated, service_role;

create table if not exists auth.users (
  instance_id          uuid,
  id                   uuid primary key default gen_random_uuid(),
  aud                  varchar(255) not null default 'authenticated',
  role                 varchar(255) not null default 'authenticated',
  email                varchar(255) unique,
  encrypted_password   varchar(255),
  email_confirmed_at   timestamptz,
  confirmation_sent_at timestamptz,
  last_sign_in_at      timestamptz,
  raw_app_meta_data    jsonb not null default '{}'::jsonb,
  raw_user_meta_data   jsonb not null default '{}'::jsonb,
  created_at           timestamptz not null default now(),
  updated_at           timestamptz not null default now(),
  is_anonymous         boolean not null default false
);

create table if not exists auth.sessions (
  id         uuid primary key default gen_random_uuid(),
  user_id    uuid not null references auth.users (id) on delete cascade,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);

create table if not exists auth.refresh_tokens (
  id         bigserial primary key,
  token      varchar(255) not null unique,
  user_id    uuid not null references auth.users (id) on delete cascade,
  session_id uuid not null references auth.sessions (id) on delete cascade,
  parent     varchar(255),
  revoked    boolean not null default false,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
create index if not exists refresh_tokens_parent on auth.refresh_tokens (parent);

-- The same definitions as hosted Supabase.
create or replace function auth.uid() returns uuid
language sql stable as $$
  select nullif(
    coalesce(
      current_setting('request.jwt.claim.sub', true),
      (current_setting('request.jwt.claims', true)::jsonb ->> 'sub')
    ), ''
  )::uuid
$$;

create or replace function auth.role() returns text
language sql stable as $$
  select coalesce(
    current_setting('request.jwt.claim.role', true),
    (current_setting('request.jwt.claims', true)::jsonb ->> 'role')
  )::text
$$;

create or replace function auth.jwt() returns jsonb
language sql stable as $$
  select coalesce(
    nullif(current_setting('request.jwt.claim', true), ''),
    nullif(current_setting('request.jwt.claims', true), '')
  )::jsonb
$$;

grant execute on function auth.uid(), auth.role(), auth.jwt() to anon, authenticated, service_role;

-- The Supabase CLI records applied migrations here; the local stack does the same.
create schema if not exists supabase_migrations;
create table if not exists supabase_migrations.schema_migrations (
  version    text primary key,
  statements text[],
  name       text
);

-- Supabase Realtime's database side, as hosted projects have it: the messages that
-- private broadcast channels are authorised against (RLS on this table), the topic being
-- authorised (`realtime.topic()`), and `realtime.send`. Hosted Realtime reads sent
-- messages from the table's replication stream; the local stand-in (backend/, realtime)
-- is told over pg_notify instead, so `send` here notifies and stores nothing.
create schema if not exists realtime;
grant usage on schema realtime to anon, authenticated, service_role;

create table if not exists realtime.messages (
  id          uuid not null default gen_random_uuid() primary key,
  topic       text not null,
  extension   text not null,
  payload     jsonb,
  event       text,
  private     boolean default false,
  updated_at  timestamp without time zone not null default now(),
  inserted_at timestamp without time zone not null default now()
);
alter table realtime.messages enable row level security;
grant select, insert, update on realtime.messages to anon, authenticated, service_role;

create or replace function realtime.topic() returns text
language sql stable as $$
  select nullif(current_setting('realtime.topic', true), '')::text;
$$;
grant execute on function realtime.topic() to anon, authenticated, service_role;

-- Like hosted `realtime.send`: the payload gets an `id` (the message's) unless it has one,
-- and a failure to send is a warning, never a failed write.
create or replace function realtime.send(payload jsonb, event text, topic text, private boolean default true)
returns void language plpgsql as $$
declare
  generated_id uuid := gen_random_uuid();
begin
  begin
    if not payload ? 'id' then
      payload := jsonb_set(payload, '{id}', to_jsonb(generated_id));
    end if;
    execute format('set local realtime.topic to %L', topic);
    perform pg_notify('realtime_broadcast', jsonb_build_object(
      'id', generated_id, 'topic', topic, 'event', event, 'payload', payload, 'private', private)::text);
  exception when others then
    raise warning 'ErrorSendingBroadcastMessage: %', sqlerrm;
  end;
end
$$;
