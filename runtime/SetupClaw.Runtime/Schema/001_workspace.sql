-- The runtime's own schema in the customer's database. Applied by the provisioning seed step and by the
-- runtime at start; every statement is idempotent. All files run in one transaction that first takes this lock, so
-- a runtime starting while the seed step runs never races it.
select pg_advisory_xact_lock(7316402);

create table if not exists workspace_files (
    name        text primary key,
    content     text not null,
    edited      boolean not null default false,
    updated_at  timestamptz not null default now()
);

create table if not exists memories (
    id          bigserial primary key,
    content     text not null,
    metadata    jsonb not null default '{}'::jsonb,
    created_at  timestamptz not null default now()
);

create table if not exists skills (
    name          text primary key,
    enabled       boolean not null default true,
    installed_at  timestamptz not null default now()
);

create table if not exists workspace_settings (
    key    text primary key,
    value  text not null
);
