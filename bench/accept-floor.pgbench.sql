\set n random(1, 9000000000000000000)
\startpipeline
INSERT INTO networks (id, project_id, name, description, admin_state_up, status, status_reason, revision_number, applied_revision, created_at, updated_at, tags, mtu, shared, router_external) VALUES (md5(:n::text)::uuid, 'bench', 'n', '', true, 'PENDING_CREATE', null, 1, 0, now(), now(), '{}', 1500, false, false);
INSERT INTO outbox_entries (resource_type, resource_id, operation, revision, payload, project_id, depends_on, trace_parent, created_at) VALUES ('network', md5(:n::text)::uuid, 'create', 1, '{"id": "x","name": "n","description": "","project_id": "bench","tenant_id": "bench","status": "PENDING_CREATE","status_reason": null,"revision_number": 1,"created_at": "2026-12-06T04.00.00Z","updated_at": "2026-12-06T04.00.00Z","tags": [],"admin_state_up": true,"mtu": 1500,"shared": false,"subnets": []}', 'bench', '{}', null, now());
\endpipeline
