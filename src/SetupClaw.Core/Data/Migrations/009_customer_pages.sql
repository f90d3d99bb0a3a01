-- The customer's side: dashboard sessions, one-time sign-in links and the email outbox. Tokens are stored only as
-- SHA-256 hashes; an email's body (a sign-in link is a credential) is sealed with the customer's key context and
-- erased once sent.
create table if not exists customer_sessions (
    token_hash   text primary key,
    customer_id  text not null references customers (id),
    created_at   timestamptz not null default now(),
    expires_at   timestamptz not null,
    revoked_at   timestamptz
);
create index if not exists ix_customer_sessions_customer on customer_sessions (customer_id);

create table if not exists sign_in_links (
    token_hash   text primary key,
    customer_id  text not null references customers (id),
    created_at   timestamptz not null default now(),
    expires_at   timestamptz not null,
    used_at      timestamptz
);

create table if not exists emails (
    id               bigserial primary key,
    customer_id      text not null references customers (id),
    kind             text not null,
    -- One email per event: a retried activity or a redelivered webhook enqueues it once.
    dedupe_key       text not null unique,
    recipient        text not null,
    subject          text not null,
    body_sealed      text,
    created_at       timestamptz not null default now(),
    attempts         integer not null default 0,
    next_attempt_at  timestamptz not null default now(),
    sent_at          timestamptz,
    gave_up_at       timestamptz,
    last_error       text
);
create index if not exists ix_emails_due on emails (next_attempt_at) where sent_at is null and gave_up_at is null;
