#!/usr/bin/env bash
# Runs the whole local stack: PostgreSQL (a throwaway cluster under .run/ unless OUTBOXSYNC_DATABASE is set),
# the migrations, the back-end simulator, the API and two worker replicas; then a short demo. Ctrl-C stops it all.
#   scripts/run.sh              start, run the demo, keep serving until Ctrl-C
#   scripts/run.sh --no-demo    start and serve
#   scripts/run.sh --demo-only  start, run the demo, stop (used by the tests)
#   scripts/run.sh --keystone   also start a real local Keystone (scripts/keystone.py; needs Debian's keystone and
#                               uwsgi-plugin-python3) and make the API validate tokens with it; combines with the above
# .run/endpoints.json appears only once every process answers its health check. SIGTERM or Ctrl-C stops everything
# within 10 s; a run killed hard (SIGKILL) is cleaned up by the next one. Environment: OUTBOXSYNC_WORKERS (2),
# OUTBOXSYNC_RUN_DIR (.run), OUTBOXSYNC_CONFIGURATION (Release), OUTBOXSYNC_SKIP_BUILD=1 (use the existing build),
# OUTBOXSYNC_KEYSTONE=1 (as --keystone).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
mode=serve-demo
keystone=${OUTBOXSYNC_KEYSTONE:-0}
for arg in "$@"; do
  case "$arg" in
    --no-demo|--demo-only) mode=$arg ;;
    --keystone) keystone=1 ;;
    *) echo "unknown argument: $arg (see the header of $0)" >&2; exit 2 ;;
  esac
done
workers=${OUTBOXSYNC_WORKERS:-2}
run=${OUTBOXSYNC_RUN_DIR:-$root/.run}
config=${OUTBOXSYNC_CONFIGURATION:-Release}
mkdir -p "$run/logs"
pids=()
pgdata=""
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
# A free loopback port below the kernel's ephemeral range: there only explicit binds take ports, so an outgoing
# connection cannot take it before the service binds it (as the test harness does).
free_port() {
  python3 - <<'PY'
import random, socket
try:
    low = int(open("/proc/sys/net/ipv4/ip_local_port_range").read().split()[0])
except OSError:
    low = 32768
for _ in range(500):
    port = random.randint(min(20000, low // 2), low - 1)
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", port))
        print(port)
        break
    except OSError:
        pass
    finally:
        s.close()
PY
}

# Stops processes by pid: SIGTERM, then SIGKILL whatever is left after $2 seconds (services drain on SIGTERM).
stop_pids() {
  local grace=$1; shift
  [ $# -gt 0 ] || return 0
  kill "$@" 2>/dev/null || true
  for _ in $(seq 1 $((grace * 10))); do
    local alive=0
    for pid in "$@"; do kill -0 "$pid" 2>/dev/null && alive=1; done
    [ $alive = 0 ] && return 0
    sleep 0.1
  done
  kill -9 "$@" 2>/dev/null || true
}

cleanup() {
  trap - EXIT INT TERM
  echo; echo "Stopping..."
  rm -f "$run/endpoints.json"
  stop_pids 6 "${pids[@]}"
  if [ -n "$pgdata" ]; then as_pg "$pgbin/pg_ctl" -D "$pgdata" -m fast -w -t 3 stop >/dev/null 2>&1 || true; fi
  rm -f "$run/pids"
}
# A signal's trap must end the script too: a trap that returns lets the script carry on where it was interrupted.
trap cleanup EXIT
trap 'cleanup; exit 130' INT
trap 'cleanup; exit 143' TERM

# A previous run killed hard (SIGKILL, a closed terminal) left its services and PostgreSQL running: stop them.
if [ -f "$run/pids" ]; then
  stale=()
  while read -r pid; do
    if [ -n "$pid" ] && tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qE "OutboxSync\.|keystone\.py"; then stale+=("$pid"); fi
  done <"$run/pids"
  if [ ${#stale[@]} -gt 0 ]; then echo "Stopping ${#stale[@]} processes left by a previous run..."; stop_pids 5 "${stale[@]}"; fi
  rm -f "$run/pids"
fi
rm -f "$run/endpoints.json"
remember() { pids+=("$1"); echo "$1" >>"$run/pids"; }

if [ "${OUTBOXSYNC_SKIP_BUILD:-}" != 1 ]; then
  echo "Building ($config)..."
  dotnet build OutboxSync.sln -c "$config" -v q --nologo >"$run/logs/build.log" 2>&1 || { cat "$run/logs/build.log"; exit 1; }
fi
bin() { echo "$root/src/$1/bin/$config/net10.0/OutboxSync.$1.dll"; }

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
  elif as_pg "$pgbin/pg_ctl" -D "$pgdata" status >/dev/null 2>&1; then
    echo "Stopping the PostgreSQL a previous run left running..."
    as_pg "$pgbin/pg_ctl" -D "$pgdata" -m fast -w stop >/dev/null
  fi
  pgport=$(free_port)
  as_pg "$pgbin/pg_ctl" -D "$pgdata" -l "$pgroot/postgres.log" -w \
    -o "-p $pgport -k $pgroot -c listen_addresses=127.0.0.1 -c max_connections=200" start >/dev/null
  as_pg "$pgbin/psql" -h 127.0.0.1 -p "$pgport" -U postgres -d postgres -tAc \
    "select 1 from pg_database where datname='outboxsync'" | grep -q 1 \
    || as_pg "$pgbin/createdb" -h 127.0.0.1 -p "$pgport" -U postgres outboxsync
  db="Host=127.0.0.1;Port=$pgport;Database=outboxsync;Username=postgres"
fi
api_port=$(free_port); api_url="http://127.0.0.1:$api_port"

# Keystone's setup takes about 20 s; it runs while the migrations do. Its database lives on the same cluster.
keystone_json="$run/keystone.json"
rm -f "$keystone_json"
if [ "$keystone" = 1 ]; then
  [ -n "$pgdata" ] || { echo "--keystone needs the local PostgreSQL cluster (unset OUTBOXSYNC_DATABASE)" >&2; exit 1; }
  command -v keystone-manage >/dev/null || { echo "--keystone needs Debian's keystone: apt-get install keystone uwsgi-plugin-python3 python3-psycopg2" >&2; exit 1; }
  keystone_url="http://127.0.0.1:$(free_port)"
  python3 scripts/keystone.py serve --dir "$run/keystone" --pg-port "$pgport" --psql "$pgbin/psql" --database keystone \
    --port "${keystone_url##*:}" --network-url "$api_url" --out "$keystone_json" >"$run/logs/keystone.log" 2>&1 &
  keystone_pid=$!
  remember $keystone_pid
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
  remember $!
fi

keystone_env=()
if [ "$keystone" = 1 ]; then
  echo "Waiting for Keystone..."
  for _ in $(seq 1 1200); do [ -f "$keystone_json" ] && break; kill -0 "$keystone_pid" 2>/dev/null || break; sleep 0.1; done
  [ -f "$keystone_json" ] || { echo "Keystone did not start; see $run/logs/keystone.log and $run/keystone/" >&2; tail -20 "$run/logs/keystone.log" >&2; exit 1; }
  # ks KEY [KEY...]: a value from keystone.json
  ks() { python3 -c 'import functools,json,sys; print(functools.reduce(lambda d, k: d[k], sys.argv[2:], json.load(open(sys.argv[1]))))' "$keystone_json" "$@"; }
  keystone_env=(Auth__Keystone__AuthUrl="$(ks auth_url)" Auth__Keystone__Username="$(ks service_user username)"
    Auth__Keystone__Password="$(ks service_user password)" Auth__Keystone__ProjectName="$(ks service_user project_name)")
fi
env Database__ConnectionString="$api_db" Auth__TokensFile="$run/tokens.json" "${keystone_env[@]}" \
  dotnet "$(bin Api)" --urls "$api_url" >"$run/logs/api.log" 2>&1 &
remember $!

# Every process with the URLs it answers on: "name health metrics log" per line.
processes=("api $api_url/health/ready $api_url/metrics $run/logs/api.log")
[ -n "$sim_url" ] && processes+=("simulator $sim_url/healthz - $run/logs/simulator.log")
[ "$keystone" = 1 ] && processes+=("keystone $keystone_url/v3 - $run/logs/keystone.log")
worker_urls=()
if [ -f "$(bin Worker)" ] && [ -n "$sim_url" ]; then
  for i in $(seq 1 "$workers"); do
    worker_url="http://127.0.0.1:$(free_port)"
    Database__ConnectionString="$worker_db" Backend__BaseUrl="$sim_url" Worker__InstanceId="worker-$i-$$" \
      dotnet "$(bin Worker)" --urls "$worker_url" >"$run/logs/worker-$i.log" 2>&1 &
    remember $!
    processes+=("worker-$i $worker_url/health/ready $worker_url/metrics $run/logs/worker-$i.log")
    worker_urls+=("$worker_url")
  done
fi

# Only once every process answers its health check (up to 60 s) is endpoints.json written, so a script that
# waits for the file can use every address in it at once.
for entry in "${processes[@]}"; do
  read -r name health _ log <<<"$entry"
  for _ in $(seq 1 300); do curl -sf "$health" >/dev/null 2>&1 && break; sleep 0.2; done
  curl -sf "$health" >/dev/null 2>&1 || { echo "$name did not become healthy at $health; see $log" >&2; tail -20 "$log" >&2; exit 1; }
done

workers_json=""
for i in "${!worker_urls[@]}"; do
  [ -n "$workers_json" ] && workers_json+=", "
  workers_json+="{\"name\": \"worker-$((i + 1))\", \"health\": \"${worker_urls[$i]}/health/ready\", \"metrics\": \"${worker_urls[$i]}/metrics\"}"
done
keystone_entry=""
if [ "$keystone" = 1 ]; then
  keystone_entry="\"keystone\": $(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(json.dumps({"auth_url": d["auth_url"], "region": d["region"], "users": d["users"]}))' "$keystone_json"),"
fi
cat >"$run/endpoints.json.tmp" <<JSON
{
  "api": "$api_url",
  $keystone_entry
  "database": "$db",
  "simulator": "${sim_url}",
  "violations": "${sim_url:+$sim_url/_sim/violations}",
  "tokens": {"admin": "$admin_token", "project1": "$p1_token", "project2": "$p2_token"},
  "processes": {
    "api": {"url": "$api_url", "health": "$api_url/health/ready", "metrics": "$api_url/metrics"},
    "simulator": {"url": "${sim_url}", "health": "${sim_url:+$sim_url/healthz}"},
    "workers": [$workers_json]
  }
}
JSON
mv "$run/endpoints.json.tmp" "$run/endpoints.json" # atomic: a reader never sees half a file

cat <<TXT

OutboxSync is running.
  API         $api_url
  Simulator   ${sim_url:-(not built)}
  Database    $db
  Tokens      admin=$admin_token project1=$p1_token project2=$p2_token
  Processes   $(for entry in "${processes[@]}"; do read -r name health metrics _ <<<"$entry"; printf '%s health %s metrics %s; ' "$name" "$health" "$metrics"; done)
  Written to  $run/endpoints.json; logs in $run/logs/

Try:  openstack --os-auth-type admin_token --os-token $admin_token --os-endpoint $api_url network list
TXT
if [ "$keystone" = 1 ]; then
  python3 - "$keystone_json" <<'PY'
import json, sys
k = json.load(open(sys.argv[1]))
print(f"  Keystone    {k['auth_url']} (region {k['region']}); users:")
for key, u in k["users"].items():
    print(f"    {key:9} {u['username']} / {u['password']} on project {u['project_name']}")
u = k["users"]["project1"]
print(f"Try:  openstack --os-auth-url {k['auth_url']} --os-identity-api-version 3 --os-user-domain-name Default "
      f"--os-project-domain-name Default --os-username {u['username']} --os-password {u['password']} "
      f"--os-project-name {u['project_name']} network list")
PY
fi

case "$mode" in
  --no-demo) ;;
  *) python3 scripts/demo.py "$run/endpoints.json" ;;
esac
[ "$mode" = "--demo-only" ] && exit 0
echo "Press Ctrl-C to stop."
# A trapped signal interrupts this wait at once and runs the cleanup.
wait
