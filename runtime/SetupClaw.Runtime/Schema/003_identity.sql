-- Who this assistant is, and everything about it that can change while it runs: written by the SetupClaw control
-- plane (at provisioning, on a plan change, when a key is rotated), read by the runtime on every request. One row;
-- none until a customer is given this database (a pre-started runtime answers /health and refuses everything else).
create table if not exists runtime_identity (
    singleton       boolean primary key default true check (singleton),
    customer_id     text not null,
    workspace_id    text not null,
    -- SHA-256 (hex) of the customer's claw_ key: the key itself never leaves the control plane's reveal window.
    api_key_hash    text not null,
    -- The runtime's own credential for the control plane's model gateway (a gw_ token, revocable there). Not part of
    -- a data export.
    gateway_token   text,
    plan_name       text not null,
    message_limit   integer not null,
    monthly_tokens  bigint,
    max_agents      text not null,
    features        text[] not null default '{}',
    skills          text[] not null default '{}',
    updated_at      timestamptz not null default now()
);
