#!/usr/bin/env python3
"""A short demo against a running stack: writes return at once in PENDING_*, then converge to ACTIVE."""
import json, sys, time, urllib.request, urllib.error

endpoints = json.load(open(sys.argv[1] if len(sys.argv) > 1 else ".run/endpoints.json"))
api, token = endpoints["api"], endpoints["tokens"]["project1"]


def call(method, path, body=None):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(api + path, data=data, method=method,
                                 headers={"X-Auth-Token": token, "Content-Type": "application/json"})
    start = time.perf_counter()
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            raw = resp.read()
            return resp.status, (json.loads(raw) if raw else None), (time.perf_counter() - start) * 1000
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"null"), (time.perf_counter() - start) * 1000


def show(label, status, body, ms, key):
    obj = body[key] if body and key in body else body
    print(f"  {label:<28} HTTP {status} in {ms:6.1f} ms -> status {obj.get('status') if isinstance(obj, dict) else obj}")
    return obj


print("\nDemo: each write commits the resource and its outbox entry and returns at once.")
net = show("POST network demo-net", *call("POST", "/v2.0/networks", {"network": {"name": "demo-net"}}), "network")
sub = show("POST subnet 10.10.0.0/24", *call("POST", "/v2.0/subnets", {"subnet": {
    "name": "demo-subnet", "network_id": net["id"], "ip_version": 4, "cidr": "10.10.0.0/24"}}), "subnet")
ports = [show(f"POST port demo-port-{i}", *call("POST", "/v2.0/ports", {"port": {
    "name": f"demo-port-{i}", "network_id": net["id"]}}), "port") for i in range(3)]
router = show("POST router demo-router", *call("POST", "/v2.0/routers", {"router": {"name": "demo-router"}}), "router")
status, body, ms = call("PUT", f"/v2.0/routers/{router['id']}/add_router_interface", {"subnet_id": sub["id"]})
print(f"  {'PUT add_router_interface':<28} HTTP {status} in {ms:6.1f} ms")

watch = [("networks", net["id"]), ("subnets", sub["id"]), ("routers", router["id"])] + [("ports", p["id"]) for p in ports]
if not endpoints.get("simulator"):
    print("\nNo simulator/worker built: resources stay PENDING_CREATE.")
    sys.exit(0)

print("\nWorkers drain the outbox to the back end (device calls take seconds); polling:")
deadline = time.time() + 120
while True:
    states = {}
    for coll, rid in watch:
        st, b, _ = call("GET", f"/v2.0/{coll}/{rid}")
        states[f"{coll[:-1]} {rid[:8]}"] = b[coll[:-1]]["status"] if st == 200 else f"HTTP {st}"
    print("  " + ", ".join(f"{k}={v}" for k, v in states.items()))
    if all(v in ("ACTIVE", "ERROR") for v in states.values()) or time.time() > deadline:
        break
    time.sleep(1)
with urllib.request.urlopen(endpoints["violations"], timeout=10) as resp:
    print("\nSimulator violation counters:", resp.read().decode())
ok = all(v == "ACTIVE" for v in states.values())
print("Demo converged: every resource ACTIVE." if ok else "Demo did not converge in time.")
sys.exit(0 if ok else 1)
