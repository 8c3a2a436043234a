#!/usr/bin/env bash
# Runs the whole local stack: PostgreSQL (a throwaway cluster under .run/ unless OUTBOXSYNC_DATABASE is set),
# the migrations, the back-end simulator, the API and two worker replicas; then a short demo. Ctrl-C stops it all.
#   scripts/run.sh              start, run the demo, keep serving until Ctrl-C
#   scripts/run.sh --no-demo    start and serve
#   scripts/run.sh --demo-only  start, run the demo, stop (used by the tests)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
mode=${1:-serve-demo}
workers=${OUTBOXSYNC_WORKERS:-2}
run="$root/.run"
mkdir -p "$run/logs"
pids=()
pgdata=""
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }

cleanup() {
  trap - EXIT INT TERM
  echo; echo "Stopping..."
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  if [ -n "$pgdata" ]; then as_pg "$pgbin/pg_ctl" -D "$pgdata" -m fast -w stop >/dev/null 2>&1 || true; fi
}
trap cleanup EXIT INT TERM

echo "Building (Release)..."
dotnet build OutboxSync.sln -c Release -v q --nologo >"$run/logs/build.log" 2>&1 || { cat "$run/logs/build.log"; exit 1; }
bin() { echo "$root/src/$1/bin/Release/net10.0/OutboxSync.$1.dll"; }

if [ -n "${OUTBOXSYNC_DATABASE:-}" ]; then
  db="$OUTBOXSYNC_DATABASE"
else
  pgbin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
  [ -x "$pgbin/initdb" ] || { echo "PostgreSQL binaries not found; install postgresql or set OUTBOXSYNC_DATABASE" >&2; exit 1; }
  pgroot="$run/pg"; pgdata="$pgroot/data"
  mkdir -p "$pgroot"
  [ "$(id -u)" = 0 ] && chown postgres:postgres "$pgroot"
  if [ ! -f "$pgdata/PG_VERSION" ]; then
    as_pg "$pgbin/initdb" -D "$pgdata" -U postgres -A trust -E UTF8 >"$run/logs/initdb.log" 2>&1
  fi
  pgport=$(free_port)
  as_pg "$pgbin/pg_ctl" -D "$pgdata" -l "$pgroot/postgres.log" -w \
    -o "-p $pgport -k $pgroot -c listen_addresses=127.0.0.1 -c max_connections=200" start >/dev/null
  as_pg "$pgbin/psql" -h 127.0.0.1 -p "$pgport" -U postgres -d postgres -tAc \
    "select 1 from pg_database where datname='outboxsync'" | grep -q 1 \
    || as_pg "$pgbin/createdb" -h 127.0.0.1 -p "$pgport" -U postgres outboxsync
  db="Host=127.0.0.1;Port=$pgport;Database=outboxsync;Username=postgres"
fi
echo "Applying migrations..."
dotnet "$(bin Migrator)" "$db"

token() { python3 -c 'import secrets; print(secrets.token_hex(16))'; }
sha() { printf '%s' "$1" | sha256sum | cut -d' ' -f1; }

# Least privilege (docs/operations.md, "Database roles"): the migrations ran as the owner; the API and the workers
# log in as members of the group roles the migrations created. On the local cluster this script creates those
# logins with fresh passwords (the cluster trusts loopback, but the same strings work with password auth); with
# OUTBOXSYNC_DATABASE, pass such logins' strings in OUTBOXSYNC_API_DATABASE / OUTBOXSYNC_WORKER_DATABASE.
api_db=${OUTBOXSYNC_API_DATABASE:-$db}
worker_db=${OUTBOXSYNC_WORKER_DATABASE:-$db}
if [ -n "$pgdata" ]; then
  api_password=$(token); worker_password=$(token)
  as_pg "$pgbin/psql" -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$pgport" -U postgres -d outboxsync \
    -v api_password="$api_password" -v worker_password="$worker_password" >/dev/null <<'SQL'
do $$ begin
  if not exists (select 1 from pg_roles where rolname = 'outboxsync_api_login') then create role outboxsync_api_login login; end if;
  if not exists (select 1 from pg_roles where rolname = 'outboxsync_worker_login') then create role outboxsync_worker_login login; end if;
end $$;
alter role outboxsync_api_login password :'api_password';
alter role outboxsync_worker_login password :'worker_password';
grant outboxsync_api to outboxsync_api_login;
grant outboxsync_worker to outboxsync_worker_login;
SQL
  api_db="Host=127.0.0.1;Port=$pgport;Database=outboxsync;Username=outboxsync_api_login;Password=$api_password"
  worker_db="Host=127.0.0.1;Port=$pgport;Database=outboxsync;Username=outboxsync_worker_login;Password=$worker_password"
fi

# Demo tokens: random per run; the API only ever sees their SHA-256 hashes.
admin_token=$(token); p1_token=$(token); p2_token=$(token)
cat >"$run/tokens.json" <<JSON
[
  {"Sha256": "$(sha "$admin_token")", "ProjectId": "admin-project", "Roles": ["admin"], "Name": "admin"},
  {"Sha256": "$(sha "$p1_token")", "ProjectId": "project1", "Roles": ["member"], "Name": "project1"},
  {"Sha256": "$(sha "$p2_token")", "ProjectId": "project2", "Roles": ["member"], "Name": "project2"}
]
JSON

sim_url=""
if [ -f "$(bin Simulator)" ]; then
  sim_port=$(free_port); sim_url="http://127.0.0.1:$sim_port"
  dotnet "$(bin Simulator)" --urls "$sim_url" \
    --Simulator:Faults:LatencyMinMs="${SIM_LATENCY_MIN_MS:-500}" --Simulator:Faults:LatencyMaxMs="${SIM_LATENCY_MAX_MS:-2000}" \
    >"$run/logs/simulator.log" 2>&1 &
  pids+=($!)
fi

api_port=$(free_port); api_url="http://127.0.0.1:$api_port"
Database__ConnectionString="$api_db" Auth__TokensFile="$run/tokens.json" dotnet "$(bin Api)" --urls "$api_url" >"$run/logs/api.log" 2>&1 &
pids+=($!)

if [ -f "$(bin Worker)" ] && [ -n "$sim_url" ]; then
  for i in $(seq 1 "$workers"); do
    Database__ConnectionString="$worker_db" Backend__BaseUrl="$sim_url" Worker__InstanceId="worker-$i-$$" dotnet "$(bin Worker)" >"$run/logs/worker-$i.log" 2>&1 &
    pids+=($!)
  done
fi

cat >"$run/endpoints.json" <<JSON
{
  "api": "$api_url",
  "database": "$db",
  "simulator": "${sim_url}",
  "violations": "${sim_url:+$sim_url/_sim/violations}",
  "tokens": {"admin": "$admin_token", "project1": "$p1_token", "project2": "$p2_token"}
}
JSON

for _ in $(seq 1 100); do curl -sf "$api_url/" >/dev/null 2>&1 && break; sleep 0.2; done
curl -sf "$api_url/" >/dev/null || { echo "API did not start; see $run/logs/api.log" >&2; tail -20 "$run/logs/api.log" >&2; exit 1; }

cat <<TXT

OutboxSync is running.
  API         $api_url
  Simulator   ${sim_url:-(not built)}
  Database    $db
  Tokens      admin=$admin_token project1=$p1_token project2=$p2_token
  Written to  .run/endpoints.json; logs in .run/logs/

Try:  openstack --os-auth-type admin_token --os-token $admin_token --os-endpoint $api_url network list
TXT

case "$mode" in
  --no-demo) ;;
  *) python3 scripts/demo.py "$run/endpoints.json" ;;
esac
[ "$mode" = "--demo-only" ] && exit 0
echo "Press Ctrl-C to stop."
wait
