-- A step that finished keeps its output, so a re-delivery of the same step of the same operation (a host that died
-- before the durable backend recorded the completion) returns it instead of doing the work again.
alter table provisioning_steps add column if not exists output text;
create index if not exists ix_provisioning_steps_operation on provisioning_steps (operation_id, step) where status = 'completed';
