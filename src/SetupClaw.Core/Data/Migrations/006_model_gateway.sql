-- The model gateway: each customer's runtime calls the control plane's gateway with a token of its own (hashed here,
-- sealed copy for the service variables), and the tokens it spends are counted per calendar month (UTC).
alter table customers
    add column if not exists gateway_token_hash text,
    add column if not exists gateway_token_encrypted text;

create unique index if not exists ux_customers_gateway_token on customers (gateway_token_hash) where gateway_token_hash is not null;

create table if not exists model_usage (
    customer_id    text not null,
    period         date not null,
    input_tokens   bigint not null default 0,
    output_tokens  bigint not null default 0,
    requests       integer not null default 0,
    updated_at     timestamptz not null default now(),
    primary key (customer_id, period)
);
