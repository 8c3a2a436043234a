-- Neutron resources. revision_number and updated_at describe the desired state the client asked for;
-- applied_revision is what the back end has confirmed, so worker status changes never touch the former.
create table networks (
    id               uuid primary key,
    project_id       text        not null,
    name             text        not null default '',
    description      text        not null default '',
    admin_state_up   boolean     not null default true,
    status           text        not null,
    status_reason    text,
    revision_number  bigint      not null default 1,
    applied_revision bigint      not null default 0,
    created_at       timestamptz not null,
    updated_at       timestamptz not null,
    tags             text[]      not null default '{}',
    mtu              integer     not null default 1500,
    shared           boolean     not null default false,
    router_external  boolean     not null default false
);
create index networks_project on networks (project_id);

create table subnets (
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
    -- RESTRICT: a network row can only disappear after the back end confirmed its subnets' deletes.
    network_id       uuid        not null references networks (id) on delete restrict,
    cidr             text        not null,
    ip_version       integer     not null check (ip_version in (4, 6)),
    gateway_ip       text,
    allocation_pools jsonb       not null default '[]',
    enable_dhcp      boolean     not null default true,
    dns_nameservers  text[]      not null default '{}',
    host_routes      jsonb       not null default '[]'
);
create index subnets_network on subnets (network_id);
create index subnets_project on subnets (project_id);

create table ports (
    id               uuid primary key,
    project_id       text        not null,
    name             text        not null default '',
    description      text        not null default '',
    admin_state_up   boolean     not null default true,
    status           text        not null,
    status_reason    text,
    revision_number  bigint      not null default 1,
    applied_revision bigint      not null default 0,
    created_at       timestamptz not null,
    updated_at       timestamptz not null,
    tags             text[]      not null default '{}',
    network_id       uuid        not null references networks (id) on delete restrict,
    mac_address      text        not null unique,
    device_id        text        not null default '',
    device_owner     text        not null default ''
);
create index ports_network on ports (network_id);
create index ports_project on ports (project_id);

-- IPAM: the primary key is what makes concurrent port creates on one subnet unable to share an address.
create table ip_allocations (
    subnet_id  uuid not null references subnets (id) on delete restrict,
    ip_address text not null,
    port_id    uuid not null references ports (id) on delete cascade,
    primary key (subnet_id, ip_address)
);
create index ip_allocations_port on ip_allocations (port_id);

create table routers (
    id                    uuid primary key,
    project_id            text        not null,
    name                  text        not null default '',
    description           text        not null default '',
    admin_state_up        boolean     not null default true,
    status                text        not null,
    status_reason         text,
    revision_number       bigint      not null default 1,
    applied_revision      bigint      not null default 0,
    created_at            timestamptz not null,
    updated_at            timestamptz not null,
    tags                  text[]      not null default '{}',
    external_gateway_info jsonb,
    routes                jsonb       not null default '[]'
);
create index routers_project on routers (project_id);

-- One row per interface; the interface port is the resource the outbox orders it under.
create table router_interfaces (
    port_id   uuid primary key references ports (id) on delete cascade,
    router_id uuid not null references routers (id) on delete restrict,
    subnet_id uuid not null references subnets (id) on delete restrict
);
create index router_interfaces_router on router_interfaces (router_id);
create unique index router_interfaces_router_subnet on router_interfaces (router_id, subnet_id);
