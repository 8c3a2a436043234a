-- The transactional outbox: one row per accepted change, appended in the same transaction as the change.
create table outbox_entries (
    seq             bigint generated always as identity primary key,
    resource_type   text        not null check (resource_type in ('network', 'subnet', 'port', 'router')),
    resource_id     uuid        not null,
    operation       text        not null check (operation in ('create', 'update', 'delete', 'add_interface', 'remove_interface')),
    revision        bigint      not null,
    payload         jsonb       not null,
    project_id      text        not null,
    -- Resources that must exist at the back end before this entry is sent (parents), fixed at insert.
    depends_on      uuid[]      not null default '{}',
    trace_parent    text,
    state           text        not null default 'pending'
                    check (state in ('pending', 'done', 'superseded', 'failed', 'discarded')),
    attempts        integer     not null default 0,
    next_attempt_at timestamptz not null default now(),
    last_error      text,
    blocked_by      text,
    created_at      timestamptz not null default now(),
    completed_at    timestamptz
);
-- The drain's claim reads only live rows, so finished history never slows it down.
create index outbox_due on outbox_entries (next_attempt_at, seq) where state = 'pending';
create index outbox_resource_pending on outbox_entries (resource_id, seq) where state = 'pending';
create index outbox_depends_pending on outbox_entries using gin (depends_on) where state = 'pending';
create index outbox_finished on outbox_entries (completed_at) where state in ('done', 'superseded');
