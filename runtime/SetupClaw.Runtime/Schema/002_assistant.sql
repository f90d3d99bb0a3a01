-- Chat, ranked memory search and usage. Idempotent, like 001: applied at every runtime start and by the seed step.

-- Full-text search over memories: a stored tsvector with a GIN index. Queries go through plainto_tsquery /
-- websearch_to_tsquery with the text as a parameter, never spliced into SQL.
alter table memories add column if not exists search tsvector
    generated always as (to_tsvector('english', content)) stored;
create index if not exists memories_search on memories using gin (search);
create index if not exists memories_created on memories (created_at desc, id desc);

create table if not exists conversations (
    id           uuid primary key,
    -- The OpenAI-compatible endpoint keys a conversation by the request's `user` field.
    external_key text unique,
    created_at   timestamptz not null default now(),
    updated_at   timestamptz not null default now()
);

create table if not exists messages (
    id              bigserial primary key,
    conversation_id uuid not null references conversations (id) on delete cascade,
    role            text not null check (role in ('user', 'assistant')),
    content         text not null,
    input_tokens    integer not null default 0,
    output_tokens   integer not null default 0,
    created_at      timestamptz not null default now()
);
create index if not exists messages_conversation on messages (conversation_id, id desc);

-- The monthly allowance is enforced on this counter: one conditional upsert reserves a message atomically.
create table if not exists usage_monthly (
    month     date primary key,
    messages  integer not null default 0
);

-- What was used, per day: messages and tokens.
create table if not exists usage_daily (
    day            date primary key,
    messages       integer not null default 0,
    input_tokens   bigint not null default 0,
    output_tokens  bigint not null default 0
);
