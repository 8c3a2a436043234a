-- Neutron frees a deleted port's MAC and fixed IPs when the delete is accepted, so a new port may take them at
-- once. Here the old port stays (PENDING_DELETE) until the back end confirms its delete, and the back end must never
-- hold two ports with one address: the new port is sent after the old port's delete (and after an update that moved
-- a port off an address). The drain finds that predecessor through the rows below (DependencyRules).

-- released_at: when the port gave up its MAC (its delete was accepted). Set once, never cleared; the MAC is unique
-- only among ports that still hold theirs. (A status predicate would not do: a delete the back end refuses turns the
-- row to ERROR, which must not make two ports hold one MAC in the index.)
alter table ports add column released_at timestamptz;
alter table ports drop constraint ports_mac_address_key;
-- Same name as the constraint it replaces: a concurrent create that picked a held MAC fails here (409 MacAddressInUse,
-- or another generated MAC).
create unique index ports_mac_address_key on ports (mac_address) where released_at is null;
create index ports_released_mac on ports (mac_address) where released_at is not null;

-- Addresses a port gave up (deleted, or moved off by an update) while the back end may still hold them for it.
-- Rows go with the port's row, when the back end has confirmed its delete.
create table released_addresses (
    subnet_id  uuid not null,
    ip_address text not null,
    port_id    uuid not null references ports (id) on delete cascade,
    primary key (subnet_id, ip_address, port_id)
);
create index released_addresses_port on released_addresses (port_id);

grant select, insert on released_addresses to outboxsync_api;
grant select on released_addresses to outboxsync_worker;
