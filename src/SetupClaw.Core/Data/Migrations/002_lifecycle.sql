-- Customer lifecycle: what Stripe says (billing state and plan, each with the time of the event that said it), a
-- version that grows with every change of it, and the one lifecycle run allowed per customer at a time.
alter table customers
    add column if not exists billing_state text not null default 'awaiting_payment'
        check (billing_state in ('awaiting_payment', 'active', 'suspended', 'cancelled')),
    add column if not exists billing_state_at timestamptz,
    add column if not exists desired_plan text,
    add column if not exists plan_fact_at timestamptz,
    add column if not exists desired_version bigint not null default 0,
    add column if not exists applied_version bigint not null default 0,
    add column if not exists lifecycle_instance text,
    add column if not exists lifecycle_claimed_at timestamptz,
    add column if not exists lifecycle_runs integer not null default 0,
    add column if not exists lifecycle_error text,
    add column if not exists suspended_at timestamptz;

create index if not exists ix_customers_lifecycle_pending on customers (id) where applied_version < desired_version or lifecycle_instance is not null;

-- Provider resources that belong to no live customer: an undo that failed after its retries, or what the sweep
-- found. Open while removed_at is null; the sweep retries them.
create table if not exists orphans (
    id               bigserial primary key,
    kind             text not null check (kind in ('database', 'service')),
    customer_id      text not null,
    source           text not null check (source in ('compensation', 'deprovision', 'sweep')),
    reason           text not null,
    found_at         timestamptz not null default now(),
    attempts         integer not null default 0,
    last_attempt_at  timestamptz,
    last_error       text,
    removed_at       timestamptz,
    resolution       text
);

create unique index if not exists ux_orphans_open on orphans (kind, customer_id) where removed_at is null;

create table if not exists sweep_runs (
    id            bigserial primary key,
    started_at    timestamptz not null,
    finished_at   timestamptz not null,
    found         integer not null,
    removed       integer not null,
    left_open     integer not null,
    runs_started  integer not null,
    errors        text
);

-- What a cancelled customer had (memories, conversations, messages, workspace files, skills), gzip-compressed
-- JSON, written before the database is deleted.
create table if not exists customer_archives (
    customer_id  text primary key references customers (id),
    archived_at  timestamptz not null default now(),
    bytes        integer not null,
    counts       jsonb not null,
    content      bytea not null
);

-- Customers from before the lifecycle: what their status implies Stripe said.
update customers set billing_state = case
        when provisioning_status in ('deprovisioning', 'deprovisioned') then 'cancelled'
        when provisioning_status = 'pending' then 'awaiting_payment'
        when provisioning_status = 'suspended' then 'suspended'
        else 'active' end
where billing_state_at is null;
