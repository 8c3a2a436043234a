-- Per-resource cross-server lock. A row is a lease: whoever holds the current token may act on the
-- resource until expires_at (database clock). Tokens come from one sequence, so every acquisition
-- gets a strictly larger token than any before it, for any resource.
create sequence fencing_tokens as bigint;

create table resource_leases (
    resource_id uuid        primary key,
    holder      text        not null,
    token       bigint      not null,
    acquired_at timestamptz not null,
    expires_at  timestamptz not null
);
create index resource_leases_expiry on resource_leases (expires_at);

-- Replicas announce themselves so operators can see who is draining.
create table worker_replicas (
    instance_id  text primary key,
    host         text        not null,
    started_at   timestamptz not null,
    heartbeat_at timestamptz not null,
    in_flight    integer     not null default 0
);
