-- Resources named for customers this control database does not know: counted by each sweep, never removed
-- (another installation may share the provider account or the PostgreSQL server).
alter table sweep_runs add column if not exists foreign_found integer not null default 0;
