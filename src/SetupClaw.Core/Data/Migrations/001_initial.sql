create table if not exists customers (
    id                          text primary key,
    email                       text not null,
    name                        text,
    assistant_name              text,
    plan                        text not null,
    status_token_hash           text not null,
    stripe_customer_id          text,
    stripe_subscription_id      text,
    stripe_checkout_session_id  text,
    workspace_id                text unique,
    instance_id                 text,
    access_url                  text,
    api_key_hash                text,
    api_key_encrypted           text,
    api_key_hint                text,
    api_key_revealed_at         timestamptz,
    database_branch_id          text,
    database_url_encrypted      text,
    railway_service_id          text,
    provisioning_status         text not null default 'pending'
        check (provisioning_status in ('pending', 'provisioning', 'active', 'failed',
                                       'deprovisioning', 'deprovisioned', 'suspended')),
    provisioning_step           text,
    failure_reason              text,
    orchestration_id            text,
    provisioning_started_at     timestamptz,
    provisioned_at              timestamptz,
    deprovisioned_at            timestamptz,
    created_at                  timestamptz not null default now(),
    updated_at                  timestamptz not null default now()
);

create index if not exists ix_customers_status on customers (provisioning_status);
create index if not exists ix_customers_stripe_subscription on customers (stripe_subscription_id);

create table if not exists stripe_events (
    id           text primary key,
    type         text not null,
    customer_id  text,
    outcome      text not null,
    received_at  timestamptz not null default now()
);

create table if not exists provisioning_steps (
    id            bigserial primary key,
    customer_id   text not null references customers (id),
    operation_id  text not null,
    step          text not null,
    status        text not null check (status in ('running', 'completed', 'failed', 'compensated')),
    started_at    timestamptz not null,
    completed_at  timestamptz,
    duration_ms   integer,
    error         text
);

create index if not exists ix_provisioning_steps_customer on provisioning_steps (customer_id, id);
