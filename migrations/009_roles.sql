-- Least privilege: the API and the workers connect as login users that are members of these group roles, never as
-- the migration owner. The API cannot touch leases or Quartz's tables; neither role can change the schema.
-- Roles are cluster-wide, so this creates them only when absent (several databases may share a cluster, and a DBA
-- may have created them already); the grants below are per database. There are deliberately no default
-- privileges: every later migration that adds a table or sequence grants on it, as this one does.
do $$
declare
    role_name text;
begin
    foreach role_name in array array['outboxsync_api', 'outboxsync_worker'] loop
        if not exists (select 1 from pg_roles where rolname = role_name) then
            begin
                execute format('create role %I nologin', role_name);
            exception when duplicate_object or unique_violation then
                -- A migrator on another database of this cluster created it concurrently.
                null;
            end;
        end if;
    end loop;
end $$;

-- PostgreSQL 15 already denies CREATE on public to PUBLIC; older clusters must not let the roles create tables.
revoke create on schema public from public;
grant usage on schema public to outboxsync_api, outboxsync_worker;

-- Readiness compares schema_migrations with the build's latest version.
grant select on schema_migrations to outboxsync_api, outboxsync_worker;

-- API: the accept path writes resources, addresses, interfaces and outbox entries in one transaction (rows are
-- only ever deleted by a worker after the back end confirmed the delete; addresses change on port updates).
grant select, insert, update on networks, subnets, ports, routers to outboxsync_api;
grant select, insert, delete on ip_allocations, router_interfaces to outboxsync_api;
-- Operator retry and discard update entries (and their resources' status, above).
grant select, insert, update on outbox_entries to outboxsync_api;
grant select, insert on operator_audit, reconciliation_runs to outboxsync_api;
grant select on worker_replicas to outboxsync_api;

-- The operator API lists leases through this view, which runs with its owner's rights, so the API role reads
-- these columns without any privilege on resource_leases (it can neither take, extend nor drop a lease).
create view operator_leases as
    select resource_id, holder, token, acquired_at, expires_at from resource_leases;
grant select on operator_leases to outboxsync_api;

-- Worker: the drain (leases, outbox, resource status and deletes after confirmation), reconciliation (which also
-- enqueues ordinary outbox entries for repairs), the replica registry and Quartz's clustered job store.
grant select, insert, update, delete on resource_leases to outboxsync_worker;
grant usage on sequence fencing_tokens to outboxsync_worker;
grant select, insert, update, delete on outbox_entries to outboxsync_worker;
grant select, update, delete on networks, subnets, ports, routers to outboxsync_worker;
-- Deleting a port cascades to these as the table owner (foreign-key actions run with the owner's rights).
grant select on ip_allocations, router_interfaces to outboxsync_worker;
grant select, insert, update, delete on worker_replicas to outboxsync_worker;
grant select, insert, update on reconciliation_runs to outboxsync_worker;
grant select, insert, update, delete on
    qrtz_blob_triggers, qrtz_calendars, qrtz_cron_triggers, qrtz_execution_history, qrtz_fired_triggers,
    qrtz_job_details, qrtz_job_status, qrtz_locks, qrtz_misfire_history, qrtz_paused_job_grps,
    qrtz_paused_trigger_grps, qrtz_scheduler_state, qrtz_simple_triggers, qrtz_simprop_triggers, qrtz_triggers
    to outboxsync_worker;
