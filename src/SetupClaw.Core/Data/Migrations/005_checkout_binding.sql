-- Checkout binding: a subscription belongs to at most one customer, and events about a subscription that no
-- customer is bound to yet (delivered before the checkout that binds it) wait here until it is bound.
-- Rows written before this migration (when events could set the subscription) may share one: the index is then left
-- out with a warning naming the fix, and the binding's own check under the subscription lock still holds.
do $$
begin
    if exists (select stripe_subscription_id from customers where stripe_subscription_id is not null group by 1 having count(*) > 1) then
        raise warning 'customers share a stripe_subscription_id: unique index ux_customers_bound_subscription not created. Find them with: select stripe_subscription_id, array_agg(id) from customers group by 1 having count(*) > 1; keep the right customer''s binding, set the others to null, restart.';
    else
        create unique index if not exists ux_customers_bound_subscription on customers (stripe_subscription_id) where stripe_subscription_id is not null;
    end if;
end $$;

create table if not exists parked_stripe_events (
    event_id            text primary key,
    event_type          text not null,
    subscription_id     text not null,
    stripe_customer_id  text,
    billing_state       text check (billing_state in ('active', 'suspended', 'cancelled')),
    plan                text,
    fact_at             timestamptz not null,
    parked_at           timestamptz not null default now()
);

create index if not exists ix_parked_stripe_events_subscription on parked_stripe_events (subscription_id);
