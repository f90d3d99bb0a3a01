-- Test customers: created by the operator's smoke test (no payment, never billed), listed as tests, removed by it.
alter table customers add column if not exists is_test boolean not null default false;
