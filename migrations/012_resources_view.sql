-- The four resource tables as one relation, for the statements that look a resource up by id without knowing
-- its type (the drain's backlog read, the parent-failed rule, reconciliation's orphan check). One definition
-- instead of a UNION ALL repeated in each; PostgreSQL pushes "where id = ..." into every branch, so each lookup
-- is still one primary-key probe per table.
create view resources as
    select id, 'network'::text as resource_type, status, status_reason, revision_number, applied_revision from networks
    union all select id, 'subnet', status, status_reason, revision_number, applied_revision from subnets
    union all select id, 'port', status, status_reason, revision_number, applied_revision from ports
    union all select id, 'router', status, status_reason, revision_number, applied_revision from routers;

-- Readers only; the view runs with its owner's rights, and both roles already read every table in it.
grant select on resources to outboxsync_api, outboxsync_worker;
