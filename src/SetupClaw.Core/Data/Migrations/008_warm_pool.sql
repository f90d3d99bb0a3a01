-- The warm pool: instances (database, service, deployment, domain) made ready before anyone pays, then given to a
-- customer. A row is written before any resource is created and removed only after they are deleted, so every pool
-- resource is either recorded here (or on the customer that claimed it) or a leftover the sweep may delete.
create table if not exists pool_members (
    id                      text primary key,
    status                  text not null check (status in ('warming', 'ready', 'claimed', 'failed', 'draining')),
    plan                    text not null,
    installation_id         text not null,
    database_id             text,
    database_url_encrypted  text,
    service_id              text,
    access_url              text,
    deployment_id           text,
    claimed_by              text references customers (id),
    claimed_operation       text,
    error                   text,
    created_at              timestamptz not null default now(),
    ready_at                timestamptz,
    claimed_at              timestamptz,
    checked_at              timestamptz,
    updated_at              timestamptz not null default now()
);

-- A customer claims at most one member, ever: a retried claim finds the one it already has.
create unique index if not exists ux_pool_members_claimed_by on pool_members (claimed_by) where claimed_by is not null;
create index if not exists ix_pool_members_status on pool_members (status, ready_at);

-- The resource an orphan is (its provider id), when known: it is deleted by that id, not by a name derived again.
alter table orphans add column if not exists resource_id text;
