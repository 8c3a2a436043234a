-- T2's database floor: the statements of one port create as the API sends them since 3684505
-- (AcceptTransaction.RunBatchedAsync), on the hot network :net with its one subnet :subnet (pgbench -D).
-- Round trip 1: BEGIN, the network and its live subnets locked FOR SHARE; 2: IPAM's probe of 16 random
-- addresses; 3: the port, its address, its outbox entry and the COMMIT. The address is drawn from a space of
-- 13 million so that rows rarely collide; ON CONFLICT keeps a rare collision from aborting the client.
\set n random(1, 9000000000000000000)
\set a random(0, 255)
\set b random(2, 254)
\set c random(0, 199)
BEGIN;
\startpipeline
SELECT project_id, shared, status FROM networks WHERE id = :net FOR SHARE;
SELECT id, ip_version, cidr, gateway_ip, allocation_pools::text, created_at FROM subnets WHERE network_id = :net AND status <> 'PENDING_DELETE' ORDER BY id FOR SHARE;
\endpipeline
SELECT c.ip, (SELECT true FROM ip_allocations a WHERE a.subnet_id = :subnet AND a.ip_address = c.ip LIMIT 1) FROM unnest((ARRAY['10.0.1.' || :b, '10.0.2.' || :b, '10.0.3.' || :b, '10.0.4.' || :b, '10.0.5.' || :b, '10.0.6.' || :b, '10.0.7.' || :b, '10.0.8.' || :b, '10.0.9.' || :b, '10.0.10.' || :b, '10.0.11.' || :b, '10.0.12.' || :b, '10.0.13.' || :b, '10.0.14.' || :b, '10.0.15.' || :b, '10.0.16.' || :b])::text[]) AS c(ip);
\startpipeline
INSERT INTO ports (id, project_id, name, description, admin_state_up, status, status_reason, revision_number, applied_revision, created_at, updated_at, tags, network_id, mac_address, device_id, device_owner) VALUES (md5(:n::text)::uuid, 'bench', '', '', true, 'PENDING_CREATE', null, 1, 0, now(), now(), '{}', :net, 'fa:19:' || md5(:n::text), '', '');
INSERT INTO ip_allocations (subnet_id, ip_address, port_id) VALUES (:subnet, '10.' || :c || '.' || :a || '.' || :b, md5(:n::text)::uuid) ON CONFLICT DO NOTHING;
INSERT INTO outbox_entries (resource_type, resource_id, operation, revision, payload, project_id, depends_on, trace_parent, created_at) VALUES ('port', md5(:n::text)::uuid, 'create', 1, '{"id": "x","name": "","description": "","project_id": "bench","tenant_id": "bench","status": "PENDING_CREATE","status_reason": null,"revision_number": 1,"created_at": "2026-12-06T04.00.00Z","updated_at": "2026-12-06T04.00.00Z","tags": [],"admin_state_up": true,"network_id": "x","mac_address": "fa:16:3e:00:00:00","fixed_ips": [{"subnet_id": "x","ip_address": "10.0.0.3"}],"device_id": "","device_owner": ""}', 'bench', ARRAY[:net, :subnet]::uuid[], null, now());
COMMIT;
\endpipeline
