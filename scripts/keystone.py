#!/usr/bin/env python3
"""A real local Keystone (Debian's `keystone` package, served by uwsgi) for scripts/run.sh and the tests.

    scripts/keystone.py serve --dir DIR --pg-port PORT --port PORT --out FILE [options]

Creates (or reuses) the database on the given PostgreSQL cluster, writes DIR/keystone.conf, runs keystone-manage
(db_sync, fernet_setup, credential_setup, bootstrap) the first time, serves Keystone on 127.0.0.1:PORT through uwsgi,
then makes sure of these, idempotently, through the identity API:
  * projects `service`, `project1`, `project2` (domain Default) and the `service` role;
  * users `admin` (bootstrap's, admin on project `admin`), `neutron` (service role on `service`: it validates
    callers' tokens), `user1` (member on project1) and `user2` (member on project2), with fresh passwords;
  * the `network` service with public, internal and admin endpoints at --network-url, when given.
It then writes FILE (JSON: auth_url, users, service_user, uwsgi_pgid) and serves until SIGTERM or SIGINT, or until
the process that started it is gone; each stops uwsgi. uwsgi dies with this process (PR_SET_PDEATHSIG) and runs in
its own process group (uwsgi_pgid).
Only the standard library is used; Keystone's own code runs under Debian's python3.
"""
import argparse
import ctypes
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request

DOMAIN = "Default"


def log(message):
    print(f"keystone.py: {message}", file=sys.stderr, flush=True)


def run(args, **kwargs):
    """Runs a command; keystone-manage prints eventlet noise on exit, so output is shown only on failure."""
    result = subprocess.run(args, capture_output=True, text=True, **kwargs)
    if result.returncode != 0:
        raise SystemExit(f"{' '.join(args)} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
    return result.stdout


def psql(opts, sql, database="postgres"):
    env = dict(os.environ, PGPASSWORD=opts.pg_password or "")
    return run([opts.psql, "-h", opts.pg_host, "-p", str(opts.pg_port), "-U", opts.pg_user, "-d", database,
                "-v", "ON_ERROR_STOP=1", "-tAc", sql], env=env).strip()


def write_config(opts):
    os.makedirs(opts.dir, exist_ok=True)
    password = f":{opts.pg_password}" if opts.pg_password else ""
    config = f"""[DEFAULT]
log_file = {opts.dir}/keystone.log
[database]
connection = postgresql+psycopg2://{opts.pg_user}{password}@{opts.pg_host}:{opts.pg_port}/{opts.database}
[token]
provider = fernet
expiration = {opts.token_expiration}
[fernet_tokens]
key_repository = {opts.dir}/fernet-keys
[fernet_receipts]
key_repository = {opts.dir}/fernet-receipts
[credential]
key_repository = {opts.dir}/credential-keys
"""
    path = os.path.join(opts.dir, "keystone.conf")
    with open(path, "w") as f:
        f.write(config)
    return path


def setup(opts, config, admin_password):
    """keystone-manage's one-time steps; a marker file makes later runs on the same directory skip them."""
    marker = os.path.join(opts.dir, "bootstrapped")
    if psql(opts, f"select 1 from pg_database where datname = '{opts.database}'") != "1":
        psql(opts, f'create database "{opts.database}"')
        if os.path.exists(marker):
            os.remove(marker)
    manage = ["keystone-manage", "--config-file", config]
    user = ["--keystone-user", "root" if os.getuid() == 0 else str(os.getuid()),
            "--keystone-group", "root" if os.getgid() == 0 else str(os.getgid())]
    if not os.path.exists(marker):
        run(manage + ["db_sync"])
        run(manage + ["fernet_setup"] + user)
        run(manage + ["credential_setup"] + user)
    url = f"http://{opts.host}:{opts.port}/v3"
    # bootstrap is idempotent: on later runs it sets the admin password and the identity endpoints again.
    run(manage + ["bootstrap", "--bootstrap-password", admin_password, "--bootstrap-admin-url", url,
                  "--bootstrap-public-url", url, "--bootstrap-internal-url", url, "--bootstrap-region-id", opts.region])
    open(marker, "w").close()


def die_with_parent():
    libc = ctypes.CDLL("libc.so.6", use_errno=True)
    libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def start_uwsgi(opts, config):
    env = dict(os.environ, OS_KEYSTONE_CONFIG_FILES=config)
    args = [opts.uwsgi, "--plugin", "python3", "--http-socket", f"{opts.host}:{opts.port}",
            "--wsgi-file", "/usr/bin/keystone-wsgi-public", "--master", "--processes", str(opts.processes),
            "--threads", "4", "--die-on-term", "--lazy-apps", "--buffer-size", "65535",
            # uwsgi's HTTP socket closes every connection after its answer; saying so stops clients from reusing
            # a pooled connection that is already closing (a reset on their next request).
            "--add-header", "Connection: close",
            "--logto", os.path.join(opts.dir, "uwsgi.log")]
    return subprocess.Popen(args, env=env, start_new_session=True, preexec_fn=die_with_parent,
                            stdin=subprocess.DEVNULL)


class Identity:
    def __init__(self, url):
        self.url = url
        self.token = None

    def call(self, method, path, body=None, expect=(200, 201, 204)):
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.url + path, data=data, method=method)
        request.add_header("Content-Type", "application/json")
        if self.token:
            request.add_header("X-Auth-Token", self.token)
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                payload = response.read()
                headers = response.headers
                status = response.status
        except urllib.error.HTTPError as e:
            payload, headers, status = e.read(), e.headers, e.code
        if status not in expect:
            raise SystemExit(f"{method} {path}: {status} {payload[:500]!r}")
        return status, headers, (json.loads(payload) if payload else None)

    def login(self, user, password, project):
        auth = {"auth": {"identity": {"methods": ["password"], "password": {
            "user": {"name": user, "domain": {"name": DOMAIN}, "password": password}}},
            "scope": {"project": {"name": project, "domain": {"name": DOMAIN}}}}}
        _, headers, _ = self.call("POST", "/v3/auth/tokens?nocatalog", auth, expect=(201,))
        self.token = headers["X-Subject-Token"]

    def find(self, collection, name, query=""):
        _, _, body = self.call("GET", f"/v3/{collection}?name={name}{query}")
        items = body[collection]
        return items[0] if items else None

    def ensure(self, collection, singular, fields):
        found = self.find(collection, fields["name"])
        if found:
            return found
        _, _, body = self.call("POST", f"/v3/{collection}", {singular: fields})
        return body[singular]

    def ensure_user(self, name, password, project_id):
        found = self.find("users", name)
        if found:
            self.call("PATCH", f"/v3/users/{found['id']}", {"user": {"password": password}})
            return found
        _, _, body = self.call("POST", "/v3/users", {"user": {
            "name": name, "password": password, "domain_id": "default", "default_project_id": project_id}})
        return body["user"]

    def grant(self, project_id, user_id, role_id):
        self.call("PUT", f"/v3/projects/{project_id}/users/{user_id}/roles/{role_id}")


def wait_until_serving(url, process, deadline_seconds):
    deadline = time.monotonic() + deadline_seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"uwsgi exited ({process.returncode}) before serving; see its log")
        try:
            with urllib.request.urlopen(url + "/v3", timeout=2):
                return
        except (urllib.error.URLError, OSError):
            time.sleep(0.2)
    raise SystemExit(f"Keystone did not answer at {url}/v3 within {deadline_seconds} s")


def seed(opts, url, admin_password):
    identity = Identity(url)
    identity.login("admin", admin_password, "admin")
    service_role = identity.ensure("roles", "role", {"name": "service"})
    member = identity.find("roles", "member")
    projects = {name: identity.ensure("projects", "project", {"name": name, "domain_id": "default"})
                for name in ("service", "project1", "project2")}
    users = {"admin": {"username": "admin", "password": admin_password, "project_name": "admin"}}
    for key, name, project in (("project1", "user1", "project1"), ("project2", "user2", "project2")):
        password = secrets.token_hex(12)
        user = identity.ensure_user(name, password, projects[project]["id"])
        identity.grant(projects[project]["id"], user["id"], member["id"])
        users[key] = {"username": name, "password": password, "project_name": project}
    service_password = secrets.token_hex(12)
    service_user = identity.ensure_user(opts.service_user, service_password, projects["service"]["id"])
    identity.grant(projects["service"]["id"], service_user["id"], service_role["id"])
    if opts.network_url:
        service = identity.find("services", "neutron") or identity.call(
            "POST", "/v3/services", {"service": {"name": "neutron", "type": "network",
                                                 "description": "OutboxSync (Neutron v2.0 API)"}})[2]["service"]
        _, _, body = identity.call("GET", f"/v3/endpoints?service_id={service['id']}")
        existing = {e["interface"]: e for e in body["endpoints"]}
        for interface in ("public", "internal", "admin"):
            endpoint = {"service_id": service["id"], "interface": interface, "url": opts.network_url,
                        "region_id": opts.region}
            if interface in existing:
                identity.call("PATCH", f"/v3/endpoints/{existing[interface]['id']}", {"endpoint": endpoint})
            else:
                identity.call("POST", "/v3/endpoints", {"endpoint": endpoint})
    for domain_user in users.values():
        domain_user["user_domain_name"] = DOMAIN
        domain_user["project_domain_name"] = DOMAIN
    return {
        "auth_url": f"{url}/v3",
        "region": opts.region,
        "users": users,
        "service_user": {"username": opts.service_user, "password": service_password, "project_name": "service",
                         "user_domain_name": DOMAIN, "project_domain_name": DOMAIN},
    }


def serve(opts):
    opts.uwsgi = shutil.which("uwsgi") or "/usr/bin/uwsgi"
    if not shutil.which("keystone-manage") or not os.path.exists("/usr/bin/keystone-wsgi-public"):
        raise SystemExit("Keystone is not installed: apt-get install keystone uwsgi uwsgi-plugin-python3 python3-psycopg2")
    admin_password = secrets.token_hex(12)
    config = write_config(opts)
    setup(opts, config, admin_password)
    process = start_uwsgi(opts, config)

    def stop(*_):
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(5)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
        sys.exit(0)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    url = f"http://{opts.host}:{opts.port}"
    try:
        wait_until_serving(url, process, 120)
        result = seed(opts, url, admin_password)
    except BaseException:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
        raise
    result["uwsgi_pgid"] = process.pid
    temporary = opts.out + ".tmp"
    with open(temporary, "w") as f:
        json.dump(result, f, indent=2)
    os.replace(temporary, opts.out)  # appears whole: a reader waiting for the file never sees half of it
    log(f"serving at {url}/v3")
    # Serve until told to stop, uwsgi ends, or whoever started this script is gone (a test host or run.sh killed
    # hard): a Keystone nobody owns is not left running.
    parent = os.getppid()
    while process.poll() is None:
        if os.getppid() != parent:
            log("parent process gone; stopping")
            stop()
        try:
            process.wait(1)
        except subprocess.TimeoutExpired:
            pass
    raise SystemExit(f"uwsgi exited ({process.returncode})")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    s = sub.add_parser("serve")
    s.add_argument("--dir", required=True, help="configuration, keys and logs")
    s.add_argument("--pg-host", default="127.0.0.1")
    s.add_argument("--pg-port", type=int, required=True)
    s.add_argument("--pg-user", default="postgres", help="a role that may create the database")
    s.add_argument("--pg-password", default=None)
    s.add_argument("--psql", default=shutil.which("psql") or "psql")
    s.add_argument("--database", default="keystone")
    s.add_argument("--host", default="127.0.0.1")
    s.add_argument("--port", type=int, required=True)
    s.add_argument("--region", default="RegionOne")
    s.add_argument("--network-url", default=None, help="the API's URL, registered as the network service's endpoints")
    s.add_argument("--service-user", default="neutron")
    s.add_argument("--token-expiration", type=int, default=3600, help="token lifetime in seconds")
    s.add_argument("--processes", type=int, default=2)
    s.add_argument("--out", required=True, help="JSON written once Keystone serves and is seeded")
    opts = parser.parse_args()
    opts.dir = os.path.abspath(opts.dir)
    serve(opts)


if __name__ == "__main__":
    main()
