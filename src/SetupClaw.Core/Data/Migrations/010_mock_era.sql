-- The mock era's customers: imported from the prototype's database, linked to their Stripe customer and subscription.
-- 'grandfathered': imported with nothing provisioned yet (the operator, or migrate-mock --provision, moves it on).
alter table customers drop constraint if exists customers_provisioning_status_check;
alter table customers add constraint customers_provisioning_status_check
    check (provisioning_status in ('pending', 'provisioning', 'active', 'failed', 'deprovisioning', 'deprovisioned',
                                   'suspended', 'grandfathered'));

alter table customers
    add column if not exists imported_at timestamptz,
    -- The prototype's customers.id, for the operator to find the row it came from (never a credential).
    add column if not exists mock_source_id text;

-- One import per Stripe customer: a second run of the migration finds the first one's customer.
create unique index if not exists ux_customers_imported on customers (stripe_customer_id) where imported_at is not null;

-- The operator's list, newest first and paged by (created_at, id).
create index if not exists ix_customers_created on customers (created_at desc, id desc);
