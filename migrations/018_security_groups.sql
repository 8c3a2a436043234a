-- Security groups (Neutron's `security-group` extension): groups and their rules are resources like the others,
-- drained to the back end through the outbox with the same ordering (a rule after its group, a port after its
-- groups, a group's delete after every entry that names it).
create table security_groups (
    id               uuid primary key,
    project_id       text        not null,
    name             text        not null default '',
    description      text        not null default '',
    status           text        not null,
    status_reason    text,
    revision_number  bigint      not null default 1,
    applied_revision bigint      not null default 0,
    created_at       timestamptz not null,
    updated_at       timestamptz not null,
    tags             text[]      not null default '{}',
    stateful         boolean     not null default true,
    -- The project's `default` group, made on first use. Cleared when its delete is accepted, so the project's next
    -- use makes a new one while the old row waits for the back end's confirmation.
    is_default       boolean     not null default false
);
create index security_groups_project on security_groups (project_id);
-- One default group per project: concurrent first uses race on this index and all but one insert nothing.
create unique index security_groups_one_default on security_groups (project_id) where is_default;

create table security_group_rules (
    id                uuid primary key,
    project_id        text        not null,
    name              text        not null default '',
    description       text        not null default '',
    status            text        not null,
    status_reason     text,
    revision_number   bigint      not null default 1,
    applied_revision  bigint      not null default 0,
    created_at        timestamptz not null,
    updated_at        timestamptz not null,
    tags              text[]      not null default '{}',
    -- restrict: a group's row goes only after the back end confirmed its delete, which waits for its rules' deletes.
    security_group_id uuid        not null references security_groups (id) on delete restrict,
    direction         text        not null check (direction in ('ingress', 'egress')),
    ethertype         text        not null check (ethertype in ('IPv4', 'IPv6')),
    -- A protocol name or a number 0–255 as text; null means any.
    protocol          text,
    port_range_min    integer,
    port_range_max    integer,
    remote_ip_prefix  text,
    remote_group_id   uuid        references security_groups (id) on delete restrict,
    check (remote_ip_prefix is null or remote_group_id is null)
);
create index security_group_rules_group on security_group_rules (security_group_id);
create index security_group_rules_remote_group on security_group_rules (remote_group_id) where remote_group_id is not null;
-- Neutron's SecurityGroupRuleExists: one live rule per match. A rule whose delete is accepted no longer counts, so
-- the same rule can be added again at once (the back end gets the delete first: the new rule is another resource
-- whose create waits for nothing, and the back end keys rules by id).
create unique index security_group_rules_unique on security_group_rules (
    security_group_id, direction, ethertype, coalesce(protocol, ''), coalesce(port_range_min, -1),
    coalesce(port_range_max, -1), coalesce(remote_ip_prefix, ''), coalesce(remote_group_id, '00000000-0000-0000-0000-000000000000'))
    where status <> 'PENDING_DELETE';

-- A port's groups, in the order given. An array rather than a join table: a port create writes no extra row and
-- takes no foreign-key lock on a group every port of a project shares (the project's default group).
alter table ports add column security_groups uuid[] not null default '{}';

-- Group in use: a port create or update naming groups and a group's delete must not interleave, or a delete could
-- miss a port that names the group. Both sides take an advisory lock keyed by the group (shared by ports,
-- exclusive by the delete): lock-manager memory only, where FOR SHARE on the group's row would write a lock into
-- the row that every port create of the project shares. The two-int4 key space (class 7301) keeps these apart from
-- any bigint advisory keys.
--
-- outbox_require_security_groups: called in a port's accept transaction before its row is written. Takes the shared
-- locks, then (in a new statement, so with a snapshot taken after any delete it waited for has committed) checks
-- that every group exists, is not being deleted and belongs to the port's project. Raises SQLSTATE OS404 naming the
-- first group that fails, which the API reports as SecurityGroupNotFound.
create function outbox_require_security_groups(groups uuid[], project text) returns void
language plpgsql volatile as $$
declare
    missing uuid;
begin
    perform pg_advisory_xact_lock_shared(7301, hashtext(g::text)) from unnest(groups) g order by g;
    select g into missing from unnest(groups) g
    where not exists (select 1 from security_groups s
                      where s.id = g and s.status <> 'PENDING_DELETE' and s.project_id = project)
    limit 1;
    if missing is not null then
        raise exception 'security group % not found', missing using errcode = 'OS404';
    end if;
end
$$;

-- The delete's side: the exclusive lock, taken before the delete checks for ports that name the group.
create function outbox_lock_security_group(grp uuid) returns void
language sql volatile as $$
    select pg_advisory_xact_lock(7301, hashtext(grp::text));
$$;

-- The outbox carries the two new kinds.
alter table outbox_entries drop constraint outbox_entries_resource_type_check;
alter table outbox_entries add constraint outbox_entries_resource_type_check
    check (resource_type in ('network', 'subnet', 'port', 'router', 'security_group', 'security_group_rule')) not valid;

-- The resources view gains the two tables (the drain's backlog read, the parent-failed rule, reconciliation).
create or replace view resources as
    select id, 'network'::text as resource_type, status, status_reason, revision_number, applied_revision from networks
    union all select id, 'subnet', status, status_reason, revision_number, applied_revision from subnets
    union all select id, 'port', status, status_reason, revision_number, applied_revision from ports
    union all select id, 'router', status, status_reason, revision_number, applied_revision from routers
    union all select id, 'security_group', status, status_reason, revision_number, applied_revision from security_groups
    union all select id, 'security_group_rule', status, status_reason, revision_number, applied_revision from security_group_rules;

grant select, insert, update on security_groups, security_group_rules to outboxsync_api;
grant select, update, delete on security_groups, security_group_rules to outboxsync_worker;
grant execute on function outbox_require_security_groups(uuid[], text), outbox_lock_security_group(uuid) to outboxsync_api;
