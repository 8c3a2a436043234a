-- Login users for docker compose (docs/operations.md, "Database roles"): the API and the workers log in as members
-- of the group roles the migrations create, never as the owner. Demo passwords, like the owner's in
-- docker-compose.yml; replace them for anything but a demo. Safe to run again.
do $$
begin
    if not exists (select 1 from pg_roles where rolname = 'outboxsync_api_login') then
        create role outboxsync_api_login login password 'outboxsync-api';
    end if;
    if not exists (select 1 from pg_roles where rolname = 'outboxsync_worker_login') then
        create role outboxsync_worker_login login password 'outboxsync-worker';
    end if;
end $$;
grant outboxsync_api to outboxsync_api_login;
grant outboxsync_worker to outboxsync_worker_login;
