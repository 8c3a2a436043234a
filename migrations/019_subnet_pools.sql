-- Subnet pools (Neutron's `subnet_allocation` extension): a project's (or a shared) set of prefixes from which
-- subnets are cut by CIDR or by prefix length. A pool is a resource like the others, drained to the back end
-- through the outbox; a subnet cut from it names it, so the subnet's create waits for the pool's there.
create table subnetpools (
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
    ip_version        integer     not null check (ip_version in (4, 6)),
    -- Canonical CIDRs, compacted (no prefix inside or beside another): what allocation cuts from.
    prefixes          text[]      not null check (cardinality(prefixes) > 0),
    min_prefixlen     integer     not null,
    max_prefixlen     integer     not null,
    default_prefixlen integer     not null,
    shared            boolean     not null default false,
    check (0 <= min_prefixlen and min_prefixlen <= default_prefixlen and default_prefixlen <= max_prefixlen
           and max_prefixlen <= case ip_version when 4 then 32 else 128 end)
);
create index subnetpools_project on subnetpools (project_id);

-- No overlap within a pool: every allocation from a pool (a subnet create naming it) first locks the pool's row
-- FOR UPDATE, then reads the CIDRs its subnets hold. A subnet's CIDR stays allocated until its row is gone (the
-- back end confirmed its delete), so a CIDR is never handed out while the back end may still hold it.
-- restrict: a pool's delete is refused while any subnet row names it.
alter table subnets add column subnetpool_id uuid references subnetpools (id) on delete restrict;
create index subnets_subnetpool on subnets (subnetpool_id) where subnetpool_id is not null;

alter table outbox_entries drop constraint outbox_entries_resource_type_check;
alter table outbox_entries add constraint outbox_entries_resource_type_check
    check (resource_type in ('network', 'subnet', 'port', 'router', 'security_group', 'security_group_rule', 'subnetpool')) not valid;

create or replace view resources as
    select id, 'network'::text as resource_type, status, status_reason, revision_number, applied_revision from networks
    union all select id, 'subnet', status, status_reason, revision_number, applied_revision from subnets
    union all select id, 'port', status, status_reason, revision_number, applied_revision from ports
    union all select id, 'router', status, status_reason, revision_number, applied_revision from routers
    union all select id, 'security_group', status, status_reason, revision_number, applied_revision from security_groups
    union all select id, 'security_group_rule', status, status_reason, revision_number, applied_revision from security_group_rules
    union all select id, 'subnetpool', status, status_reason, revision_number, applied_revision from subnetpools;

grant select, insert, update on subnetpools to outboxsync_api;
grant select, update, delete on subnetpools to outboxsync_worker;
