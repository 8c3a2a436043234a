using System.Text.Json.Nodes;

namespace OutboxSync.Bench;

/// <summary>
/// T1–T4, cost per operation (OutboxSync only). Every figure is a ratio within one run: rates against rates measured
/// minutes apart on the same box, CPU from /proc/&lt;pid&gt;/stat (utime + stime) of the API and each worker before and
/// after the measured window. Every window follows an unmeasured warm-up of the same load (cold JIT costs 3-4×).
/// </summary>
public sealed partial class Scenarios
{
    private static readonly object NetworkCreateBody = new { network = new { name = "t1" } };

    /// <summary>Targets, written next to each measured ratio in results.json and the table.</summary>
    private static class Target
    {
        public const double T1RatioToPgbench = 0.5, T1CpuMsPerCreate = 0.6, T1CpuMsPerGet = 0.2;
        public const double T2RatioToNetworkCreate = 0.7, T2FullToEmptyWithin = 0.15, T2CollisionsPerRequest = 0.01;
        public const double T3RatioDrainingToIdle = 0.8, T3FlatWithin = 0.2, T3CpuMsPerCall = 1.0;
        public const double T4FractionOfIdeal = 0.9;
    }

    private sealed record Probe(double ApiCpu, Dictionary<string, double> WorkerCpu, long DeviceCalls, long Applied, long LogOffset, DateTime At, MachineCpu Machine);

    /// <summary>CPU seconds of the processes that share the box, to say which of them a window's 2 cores went to.</summary>
    private sealed record MachineCpu(double Postgres, double Simulator, double Harness, double Busy, double Total)
    {
        public static MachineCpu Read(Stack s, Postgres pg)
        {
            var (busy, total) = ProcStat.Machine();
            return new(pg.CpuSeconds(), s.Simulator.Sample().CpuSeconds, Environment.CpuUsage.TotalTime.TotalSeconds, busy, total);
        }

        public MachineCpu Since(MachineCpu before) =>
            new(Postgres - before.Postgres, Simulator - before.Simulator, Harness - before.Harness, Busy - before.Busy, Total - before.Total);
    }

    /// <summary>What the processes used between two probes. Device calls are mutations the simulator counted on arrival.</summary>
    private sealed record Usage(double Seconds, double ApiCpuMs, List<(string Name, double CpuMs)> Workers, long DeviceCalls, long Applied, long IpCollisions, long MacCollisions,
        MachineCpu Machine)
    {
        /// <summary>
        /// Where the machine's CPU went in the window: each process group's CPU-ms per device call and its share of
        /// every core's time; "other" is busy time no group accounts for (kernel threads, softirqs of other tasks).
        /// With <paramref name="requests"/>, also per request (a window whose cost is the API's, not the drain's).
        /// </summary>
        public object MachineJson(long requests = 0)
        {
            var capacityMs = Machine.Total * 1000;
            object Part(double ms) => new
            {
                cpu_ms = Math.Round(ms),
                cpu_ms_per_device_call = DeviceCalls > 0 ? Math.Round(ms / DeviceCalls, 3) : (double?)null,
                cpu_ms_per_request = requests > 0 ? Math.Round(ms / requests, 3) : (double?)null,
                share_of_machine = capacityMs > 0 ? Math.Round(ms / capacityMs, 3) : 0,
            };
            var accounted = ApiCpuMs + WorkerCpuMs + (Machine.Postgres + Machine.Simulator + Machine.Harness) * 1000;
            return new
            {
                cores = Environment.ProcessorCount,
                postgres = Part(Machine.Postgres * 1000), workers = Part(WorkerCpuMs), api = Part(ApiCpuMs),
                simulator = Part(Machine.Simulator * 1000), harness = Part(Machine.Harness * 1000),
                other = Part(Math.Max(0, Machine.Busy * 1000 - accounted)),
                idle_share = capacityMs > 0 ? Math.Round(1 - Machine.Busy * 1000 / capacityMs, 3) : 0,
            };
        }

        public double WorkerCpuMs => Workers.Sum(w => w.CpuMs);
        /// <summary>All workers' CPU over all device calls: the CPU one worker process spends per call it makes, averaged.</summary>
        public double? WorkerCpuMsPerCall => DeviceCalls > 0 && Workers.Count > 0 ? Math.Round(WorkerCpuMs / DeviceCalls, 3) : null;
        public object WorkersJson => Workers.Select(w => new { name = w.Name, cpu_ms = Math.Round(w.CpuMs), cpu_ms_per_device_call_if_evenly_split = DeviceCalls > 0 ? Math.Round(w.CpuMs / ((double)DeviceCalls / Workers.Count), 3) : (double?)null }).ToList();
    }

    private async Task<Probe> ProbeAsync(Stack s)
    {
        var api = s.Front.Sample().CpuSeconds;
        var workers = s.Workers.ToDictionary(w => w.Name, w => w.Sample().CpuSeconds);
        var (calls, applied) = await s.MutationDeviceCallsAsync();
        return new(api, workers, calls, applied, pg.LogLength(), DateTime.UtcNow, MachineCpu.Read(s, pg));
    }

    private async Task<Usage> UsageSinceAsync(Stack s, Probe p)
    {
        var now = await ProbeAsync(s);
        if (s.Workers.Count > 0 && now.DeviceCalls == p.DeviceCalls)
        {
            Console.WriteLine("  ! no device call in the window");
            foreach (var w in s.Workers.Where(w => w.Tail.Length > 0)) Console.WriteLine($"--- {w.Name} output tail ---\n{w.Tail}");
        }
        var workers = now.WorkerCpu.Select(kv => (kv.Key, Math.Round((kv.Value - p.WorkerCpu.GetValueOrDefault(kv.Key)) * 1000, 1))).ToList();
        return new Usage((now.At - p.At).TotalSeconds, (now.ApiCpu - p.ApiCpu) * 1000, workers, now.DeviceCalls - p.DeviceCalls, now.Applied - p.Applied,
            // PostgreSQL writes every ERROR to its server log with the constraint's name: a retried IPAM or MAC collision.
            pg.CountLogLines(p.LogOffset, "ERROR:", "ip_allocations_pkey"), pg.CountLogLines(p.LogOffset, "ERROR:", "ports_mac_address_key"),
            now.Machine.Since(p.Machine));
    }

    /// <summary>
    /// Waits (up to 60 s) until each of <paramref name="replicas"/> workers holds a lease, i.e. is draining. On a loaded
    /// box a worker's start-up alone can outlast a short warm-up, so warm-ups start from here, not from the process start.
    /// </summary>
    private async Task WaitWorkersAsync(int replicas)
    {
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (await pg.ScalarAsync<long>("select count(distinct holder) from resource_leases where expires_at > now()") < replicas)
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"{replicas} worker(s) not all draining after 60 s");
            await Task.Delay(100);
        }
    }

    /// <summary>Closed-loop load of one request for <see cref="BenchOptions.CostDuration"/>, after an optional warm-up of the same load.</summary>
    private async Task<(LoadResult Load, Usage Usage)> WindowAsync(Stack s, string label, HttpMethod method, string path, object? body, bool warmUp)
    {
        if (warmUp)
        {
            _progress.Phase($"{s.Design}: {label}: warm-up, {o.CostClients} clients, {o.CostWarmup.TotalSeconds:0} s (not measured)");
            await Load.RepeatAsync(s, o.CostClients, o.CostWarmup, o.ClientTimeout, _progress, method, path, body);
            _progress.Done();
        }
        _progress.Phase($"{s.Design}: {label}: {o.CostClients} clients, {o.CostDuration.TotalSeconds:0} s");
        var before = await ProbeAsync(s);
        var r = await Load.RepeatAsync(s, o.CostClients, o.CostDuration, o.ClientTimeout, _progress, method, path, body);
        _progress.Done();
        var u = await UsageSinceAsync(s, before);
        Console.WriteLine($"  {r.RequestsPerSecond:F1} req/s, p50 {r.P(50):F1} ms, p99 {r.P(99):F1} ms, errors {r.Errors}, API CPU {Ms(u.ApiCpuMs, r.Ok):F3} ms/request" +
                          (u.Workers.Count > 0 ? $", workers CPU {u.WorkerCpuMs:F0} ms over {u.DeviceCalls} device calls" : ""));
        return (r, u);
    }

    private static double Ms(double cpuMs, long requests) => requests > 0 ? cpuMs / requests : 0;

    private static JsonNode WindowJson(LoadResult r, Usage u, bool withWorkers = false)
    {
        var j = JsonSerializerNode(new
        {
            requests_per_second = Math.Round(r.RequestsPerSecond, 1),
            ok = r.Ok, errors = r.Errors,
            p50_ms = Math.Round(r.P(50), 2), p99_ms = Math.Round(r.P(99), 2),
            api_cpu_ms = Math.Round(u.ApiCpuMs),
            api_cpu_ms_per_request = r.Ok > 0 ? Math.Round(u.ApiCpuMs / r.Ok, 3) : (double?)null,
            load = r.Summary(),
            machine = u.MachineJson(r.Ok),
        }).AsObject();
        if (withWorkers)
        {
            j["device_calls"] = u.DeviceCalls;
            j["device_calls_applied"] = u.Applied;
            j["workers_cpu_ms"] = Math.Round(u.WorkerCpuMs);
            j["worker_cpu_ms_per_device_call"] = u.WorkerCpuMsPerCall;
            j["workers"] = JsonSerializerNode(u.WorkersJson);
        }
        return j;
    }

    /// <summary>The machine's CPU over a pgbench window (no .NET service is busy in it).</summary>
    private Usage PgbenchUsage(Stack s, MachineCpu before) => new(0, 0, [], 0, 0, 0, 0, MachineCpu.Read(s, pg).Since(before));

    /// <summary>T1(b)'s load: network creates with no workers running (the caller stops them), warmed up first.</summary>
    private Task<(LoadResult Load, Usage Usage)> NetworkCreatesAsync(Stack s, string label, bool warmUp = true) =>
        WindowAsync(s, label, HttpMethod.Post, "/v2.0/networks", NetworkCreateBody, warmUp);

    // T1 accept floor: pgbench running the accept transaction's own statements, then the API's network create and GET.
    private async Task T1Async(Stack s)
    {
        await s.StopWorkersAsync();
        await s.ResetAsync(0);
        _progress.Phase($"{s.Design}: T1 accept floor: network creates, warm-up {o.CostWarmup.TotalSeconds:0} s (not measured)");
        await Load.RepeatAsync(s, o.CostClients, o.CostWarmup, o.ClientTimeout, _progress, HttpMethod.Post, "/v2.0/networks", NetworkCreateBody);
        _progress.Done();
        // Same starting point for pgbench and the API: empty tables.
        await s.ResetAsync(0);
        var script = Path.Combine(o.BenchRoot, "bench", "accept-floor.pgbench.sql");
        _progress.Phase($"{s.Design}: T1 pgbench {Path.GetFileName(script)}, {o.PgbenchAcceptClients} clients, -M prepared, {o.PgbenchSeconds} s");
        await TopStatementsAsync(); // resets the counters: what follows is the floor's alone
        var beforePgbench = MachineCpu.Read(s, pg);
        var tps = await pg.PgbenchScriptTpsAsync(script, o.PgbenchAcceptClients, o.PgbenchSeconds);
        var pgbenchUse = PgbenchUsage(s, beforePgbench);
        var pgbenchStatements = await TopStatementsAsync(byCalls: true);
        Console.WriteLine($"  pgbench {tps:F0} tps");
        await s.ResetAsync(0);
        await TopStatementsAsync();
        var (create, createUse) = await NetworkCreatesAsync(s, "T1 network creates, no workers", warmUp: false);
        // The statements PostgreSQL ran for the API's creates, beside the floor's: where its CPU per create differs.
        var createStatements = await TopStatementsAsync(byCalls: true);

        var net = await s.CreateNetworkAsync();
        var (get, getUse) = await WindowAsync(s, "T1 GET of one network", HttpMethod.Get, $"/v2.0/networks/{net}", null, warmUp: true);

        _t1CreateRate = create.RequestsPerSecond;
        var ratio = tps > 0 ? create.RequestsPerSecond / tps : 0;
        var cpuCreate = Ms(createUse.ApiCpuMs, create.Ok);
        var cpuGet = Ms(getUse.ApiCpuMs, get.Ok);
        Console.WriteLine($"  T1: creates {create.RequestsPerSecond:F1} req/s ÷ pgbench {tps:F0} tps = {ratio:F3} (target ≥ {Target.T1RatioToPgbench}); API CPU {cpuCreate:F3} ms/create (≤ {Target.T1CpuMsPerCreate}), {cpuGet:F3} ms/GET (≤ {Target.T1CpuMsPerGet})");
        results.Add("T1", s.Design, new
        {
            pgbench = new
            {
                tps = Math.Round(tps, 1), clients = o.PgbenchAcceptClients, seconds = o.PgbenchSeconds, script = "bench/accept-floor.pgbench.sql", mode = "prepared",
                // pgbench's own client is "other": the floor's CPU per transaction beside the API's per create.
                machine = pgbenchUse.MachineJson((long)Math.Round(tps * o.PgbenchSeconds)),
                statements = pgbenchStatements,
            },
            create = WindowJson(create, createUse),
            create_statements = createStatements,
            get = WindowJson(get, getUse),
            ratio_create_to_pgbench = Math.Round(ratio, 3), target_ratio_create_to_pgbench = Target.T1RatioToPgbench,
            api_cpu_ms_per_create = Math.Round(cpuCreate, 3), target_api_cpu_ms_per_create = Target.T1CpuMsPerCreate,
            api_cpu_ms_per_get = Math.Round(cpuGet, 3), target_api_cpu_ms_per_get = Target.T1CpuMsPerGet,
            clients = o.CostClients, seconds = o.CostDuration.TotalSeconds, warmup_seconds = o.CostWarmup.TotalSeconds,
        });
        await s.ResetAsync(0);
    }

    /// <summary>T1's network-create saturation rate in this run (T5 offers half of it).</summary>
    private double _t1CreateRate;

    // T5 open loop: half of T1's saturation rate of network creates, offered at a constant rate while 2 workers drain
    // (device 1 s). Latency from each request's scheduled send time.
    private async Task T5Async(Stack s)
    {
        const int latency = 1000;
        await s.StopWorkersAsync();
        await s.ResetAsync(latency);
        if (_t1CreateRate <= 0)
        {
            (var saturation, _) = await NetworkCreatesAsync(s, "T5 saturation (network creates, no workers)");
            _t1CreateRate = saturation.RequestsPerSecond;
            await s.ResetAsync(latency);
        }
        var rate = Math.Round(_t1CreateRate * 0.5);
        await s.StartWorkersAsync(2);
        _progress.Phase($"{s.Design}: T5 open loop warm-up: {rate:F0} network creates/s offered, 2 workers draining, {o.CostWarmup.TotalSeconds:0} s (not measured)");
        await Load.OpenLoopAsync(s, rate, o.CostWarmup, o.CostClients * 4, o.ClientTimeout, _progress, HttpMethod.Post, "/v2.0/networks", NetworkCreateBody);
        _progress.Done();
        _progress.Phase($"{s.Design}: T5 open loop: {rate:F0} network creates/s offered, 2 workers draining, {o.CostDuration.TotalSeconds:0} s");
        var before = await ProbeAsync(s);
        var r = await Load.OpenLoopAsync(s, rate, o.CostDuration, o.CostClients * 4, o.ClientTimeout, _progress, HttpMethod.Post, "/v2.0/networks", NetworkCreateBody);
        var use = await UsageSinceAsync(s, before);
        _progress.Done();
        await s.StopWorkersAsync();
        var met = r.P(50) < 10 && r.P(99) < 50 && r.Errors == 0;
        Console.WriteLine($"  T5: {rate:F0}/s offered (half of {_t1CreateRate:F0}), {r.RequestsPerSecond:F1}/s done, p50 {r.P(50):F1} ms (< 10), p99 {r.P(99):F1} ms (< 50), errors {r.Errors}, device calls {use.DeviceCalls}");
        results.Add("T5", s.Design, new
        {
            offered_per_second = rate, saturation_per_second = Math.Round(_t1CreateRate, 1),
            window = WindowJson(r, use, withWorkers: true),
            p50_ms = Math.Round(r.P(50), 2), p99_ms = Math.Round(r.P(99), 2), errors = r.Errors,
            target_p50_ms = 10, target_p99_ms = 50, met,
            connections = o.CostClients * 4, seconds = o.CostDuration.TotalSeconds, warmup_seconds = o.CostWarmup.TotalSeconds, device_latency_ms = latency,
        });
        await s.ResetAsync(0);
    }

    // T2 hot network: port creates on one network with one /16, with the subnet empty and with T2Filled addresses allocated.
    private async Task T2Async(Stack s)
    {
        await s.StopWorkersAsync();
        await s.ResetAsync(0);
        // Each phase gets its own network with one 10.0.0.0/16 (CIDRs may overlap across networks), and nothing is
        // deleted in between: the windows run on tables that hold the earlier phases' rows, with statistics from
        // ANALYZE over those rows. Deleting every port and vacuuming made the empty window a measurement of
        // PostgreSQL's planner instead: after VACUUM of an empty table the cached generic plans of the IPAM probe
        // and of the ip_allocations → ports foreign-key check are sequential scans, which stay until autovacuum
        // analyses the table again (up to a minute), and the window ran at a third of its rate (BENCHMARKS.md, T2).
        var warmNet = await s.CreateNetworkAsync();
        await s.CreateSubnetAsync(warmNet, "10.0.0.0/16");
        _progress.Phase($"{s.Design}: T2 port creates on one network, warm-up {o.CostWarmup.TotalSeconds:0} s (not measured)");
        await Load.RepeatAsync(s, o.CostClients, o.CostWarmup, o.ClientTimeout, _progress, HttpMethod.Post, "/v2.0/ports", new { port = new { network_id = warmNet } });
        _progress.Done();
        await pg.ExecAsync("analyze ports, ip_allocations, outbox_entries");
        var net = await s.CreateNetworkAsync();
        await s.CreateSubnetAsync(net, "10.0.0.0/16");
        var body = new { port = new { network_id = net } };
        var (empty, emptyUse) = await WindowAsync(s, "T2 port creates, empty /16", HttpMethod.Post, "/v2.0/ports", body, warmUp: false);

        // The database's own ceiling for this load: pgbench running a port create's statements on a fresh hot
        // network, beside T1's pgbench of a network create. Their ratio bounds what T2's ratio can reach.
        var floorNet = await s.CreateNetworkAsync();
        var floorSubnet = await s.CreateSubnetAsync(floorNet, "10.0.0.0/16");
        var portScript = Path.Combine(o.BenchRoot, "bench", "port-floor.pgbench.sql");
        _progress.Phase($"{s.Design}: T2 pgbench {Path.GetFileName(portScript)}, {o.PgbenchAcceptClients} clients, -M prepared, {o.PgbenchSeconds} s");
        var portFloor = await pg.PgbenchScriptTpsAsync(portScript, o.PgbenchAcceptClients, o.PgbenchSeconds, ("net", floorNet), ("subnet", floorSubnet));
        Console.WriteLine($"  pgbench (port create) {portFloor:F0} tps");
        var networkFloor = results.Get("T1", s.Design)?["pgbench"]?["tps"]?.GetValue<double>();

        // The network-create rate the ratio is taken against comes from this run: T1's, or measured here if T1 did not run.
        var t1 = results.Get("T1", s.Design)?["create"]?["requests_per_second"]?.GetValue<double>();
        var source = "T1";
        if (t1 is null)
        {
            source = "T2 (T1 did not run)";
            var (nc, _) = await NetworkCreatesAsync(s, "T2 network creates (T1's load), no workers");
            t1 = nc.RequestsPerSecond;
        }

        net = await s.CreateNetworkAsync();
        var subnet = await s.CreateSubnetAsync(net, "10.0.0.0/16");
        body = new { port = new { network_id = net } };
        _progress.Phase($"{s.Design}: T2 filling a fresh subnet with {o.T2Filled:N0} allocated addresses (SQL, from 10.0.100.1 up)");
        await pg.ExecAsync($"""
            insert into ports (id, project_id, name, status, revision_number, applied_revision, created_at, updated_at, network_id, mac_address)
            select ('00000000-0000-4000-8000-' || lpad(to_hex(i), 12, '0'))::uuid, 'bench', 'fill-' || i, 'ACTIVE', 1, 1, now(), now(), '{net}', {MacSql("fa:18", "i")}
            from generate_series(1, {o.T2Filled}) i;
            insert into ip_allocations (subnet_id, ip_address, port_id)
            select '{subnet}', '10.0.' || ((25600 + i) / 256) || '.' || ((25600 + i) % 256), ('00000000-0000-4000-8000-' || lpad(to_hex(i), 12, '0'))::uuid
            from generate_series(1, {o.T2Filled}) i;
            """);
        await pg.ExecAsync("analyze ports, ip_allocations, outbox_entries");
        var allocated = await pg.ScalarAsync<long>($"select count(*) from ip_allocations where subnet_id = '{subnet}'");
        var (full, fullUse) = await WindowAsync(s, $"T2 port creates, {allocated:N0} addresses allocated", HttpMethod.Post, "/v2.0/ports", body, warmUp: false);

        var ratioToNetwork = t1 > 0 ? empty.RequestsPerSecond / t1.Value : 0;
        var fullToEmpty = empty.RequestsPerSecond > 0 ? full.RequestsPerSecond / empty.RequestsPerSecond : 0;
        var requests = empty.Ok + full.Ok;
        var collisions = emptyUse.IpCollisions + fullUse.IpCollisions;
        var collisionRate = requests > 0 ? (double)collisions / requests : 0;
        Console.WriteLine($"  T2: empty {empty.RequestsPerSecond:F1} req/s ÷ network creates {t1:F1} = {ratioToNetwork:F3} (≥ {Target.T2RatioToNetworkCreate}); database floor: port create {portFloor:F0} tps ÷ network create {networkFloor:F0} tps; full ÷ empty {fullToEmpty:F3} (within {Target.T2FullToEmptyWithin:P0}); IPAM collisions {collisions} / {requests} requests = {collisionRate:P2} (≤ {Target.T2CollisionsPerRequest:P0})");
        var emptyJson = WindowJson(empty, emptyUse).AsObject();
        var fullJson = WindowJson(full, fullUse).AsObject();
        foreach (var (j, u, r) in new[] { (emptyJson, emptyUse, empty), (fullJson, fullUse, full) })
        {
            j["ip_collisions"] = u.IpCollisions;
            j["mac_collisions"] = u.MacCollisions;
            j["ip_collisions_per_request"] = r.Ok > 0 ? Math.Round((double)u.IpCollisions / r.Ok, 4) : null;
        }
        fullJson["allocated_addresses"] = allocated;
        results.Add("T2", s.Design, new
        {
            cidr = "10.0.0.0/16", filled_from = "10.0.100.1", filled = o.T2Filled,
            empty = emptyJson, full = fullJson,
            network_create_requests_per_second = Math.Round(t1.Value, 1), network_create_source = source,
            pgbench_port_create_tps = Math.Round(portFloor, 1), pgbench_script = "bench/port-floor.pgbench.sql",
            ratio_empty_to_pgbench_port_create = portFloor > 0 ? Math.Round(empty.RequestsPerSecond / portFloor, 3) : (double?)null,
            pgbench_network_create_tps = networkFloor is { } nf ? Math.Round(nf, 1) : (double?)null,
            ratio_pgbench_port_to_network_create = networkFloor is > 0 ? Math.Round(portFloor / networkFloor.Value, 3) : (double?)null,
            ratio_empty_to_network_create = Math.Round(ratioToNetwork, 3), target_ratio_to_network_create = Target.T2RatioToNetworkCreate,
            ratio_full_to_empty = Math.Round(fullToEmpty, 3), target_full_to_empty_within = Target.T2FullToEmptyWithin,
            ip_collisions = collisions, requests, collisions_per_request = Math.Round(collisionRate, 4), target_collisions_per_request = Target.T2CollisionsPerRequest,
            collisions_source = "PostgreSQL server log: ERROR lines naming ip_allocations_pkey during the windows (each is one accept transaction the API ran again)",
            clients = o.CostClients, seconds = o.CostDuration.TotalSeconds, warmup_seconds = o.CostWarmup.TotalSeconds,
        });
        await s.ResetAsync(0);
    }

    /// <summary>A unique MAC per integer: prefix (two octets) + the integer as three hex octets.</summary>
    private static string MacSql(string prefix, string i) =>
        $"'{prefix}:00:' || substr(lpad(to_hex({i}), 6, '0'), 1, 2) || ':' || substr(lpad(to_hex({i}), 6, '0'), 3, 2) || ':' || substr(lpad(to_hex({i}), 6, '0'), 5, 2)";

    // T3 accept while draining, and the workers' CPU per device call with a large and a small backlog.
    private async Task T3Async(Stack s)
    {
        const int latency = 1000;
        await s.StopWorkersAsync();
        await s.ResetAsync(latency);
        var (idle, idleUse) = await NetworkCreatesAsync(s, "T3 network creates, no workers");

        await s.ResetAsync(latency);
        await s.StartWorkersAsync(2);
        // Both workers draining before the warm-up starts: copies of one accepted create, fed until both hold leases,
        // then drained.
        var template = await s.CreateNetworkAsync();
        using (var stopPriming = new CancellationTokenSource())
        {
            var priming = FeedAsync(template, 4 * o.InFlight, stopPriming.Token);
            await WaitWorkersAsync(2);
            await stopPriming.CancelAsync();
            await priming;
        }
        if (!await s.WaitDrainedAsync(TimeSpan.FromSeconds(60))) throw new TimeoutException("T3: the priming backlog was not drained");
        var (draining, drainUse) = await NetworkCreatesAsync(s, "T3 network creates while 2 workers drain (device 1000 ms)");
        await s.StopWorkersAsync();
        var ratio = idle.RequestsPerSecond > 0 ? draining.RequestsPerSecond / idle.RequestsPerSecond : 0;

        var large = await BacklogCostAsync(s, o.T3Backlog, topUp: false);
        var small = await BacklogCostAsync(s, o.T3SmallBacklog, topUp: true);
        var largeMs = large["worker_cpu_ms_per_device_call"]?.GetValue<double>();
        var smallMs = small["worker_cpu_ms_per_device_call"]?.GetValue<double>();
        var flat = largeMs is > 0 && smallMs is > 0 ? largeMs.Value / smallMs.Value : (double?)null;
        Console.WriteLine($"  T3: accept while draining ÷ without workers {ratio:F3} (≥ {Target.T3RatioDrainingToIdle}); worker CPU per device call {largeMs:F3} ms at {o.T3Backlog:N0} backlog, {smallMs:F3} ms at ~{o.T3SmallBacklog} (ratio {flat:F3}, flat within {Target.T3FlatWithin:P0}, ≤ {Target.T3CpuMsPerCall} ms)");
        results.Add("T3", s.Design, new
        {
            device_latency_ms = latency, replicas = 2,
            accept_without_workers = WindowJson(idle, idleUse),
            accept_while_draining = WindowJson(draining, drainUse, withWorkers: true),
            ratio_draining_to_without_workers = Math.Round(ratio, 3), target_ratio = Target.T3RatioDrainingToIdle,
            worker_cpu_ms_per_device_call_while_accepting = drainUse.WorkerCpuMsPerCall,
            backlog_large = large, backlog_small = small,
            ratio_cpu_per_call_large_to_small = flat is null ? (double?)null : Math.Round(flat.Value, 3),
            target_flat_within = Target.T3FlatWithin, target_cpu_ms_per_device_call = Target.T3CpuMsPerCall,
            cpu_per_call_note = "all workers' CPU ms (utime+stime) over all mutating device calls the simulator counted in the window, which starts once 10 s windows of that figure stopped falling (warmup_worker_cpu_ms_per_call: the fresh workers' start-up); per-worker figures assume an even split of calls",
            small_backlog_note = $"small backlog: pending network creates topped up by SQL to {o.T3SmallBacklog} every 200 ms (with NOTIFY), so both workers (2 × {o.InFlight} in flight) are busy the whole window",
            clients = o.CostClients, seconds = o.CostDuration.TotalSeconds, warmup_seconds = o.CostWarmup.TotalSeconds, window_seconds = o.T3Window.TotalSeconds,
        });
        await s.ResetAsync(0);
    }

    /// <summary>
    /// Worker CPU per device call with <paramref name="backlog"/> pending network creates (inserted by SQL, copies of one
    /// the API accepted), 2 workers, device 1000 ms: warm-up, then <see cref="BenchOptions.T3Window"/> measured.
    /// With <paramref name="topUp"/> the backlog is kept at that size for the whole window.
    /// </summary>
    private async Task<JsonObject> BacklogCostAsync(Stack s, int backlog, bool topUp)
    {
        await s.StopWorkersAsync();
        await s.ResetAsync(1000);
        var template = await s.CreateNetworkAsync();
        _progress.Phase($"{s.Design}: T3 worker CPU per device call, {(topUp ? "backlog kept at " : "backlog of ")}{backlog:N0} network creates, 2 workers, device 1000 ms");
        await InsertNetworkBacklogAsync(template, backlog - 1, notify: false);
        await pg.ExecAsync("vacuum analyze networks, outbox_entries");
        await s.StartWorkersAsync(2);
        await WaitWorkersAsync(2);
        using var stopFeed = new CancellationTokenSource();
        var feed = topUp ? FeedAsync(template, backlog, stopFeed.Token) : Task.FromResult((Min: 0L, Max: 0L));
        // A fresh worker compiles its hot paths for a minute or more (perf, one worker 50-65 s after start: clrjit
        // 18 % of its samples, 80-95 s: 5 %); a replica's cost per call is measured a minute after it started and
        // once that cost has stopped falling.
        var warmup = await WarmUntilSteadyAsync(s, TimeSpan.FromSeconds(10), o.T3SteadyWait,
            u => u.WorkerCpuMsPerCall ?? 0, (previous, last) => last >= previous * 0.9, T3MinimumWarmup);
        var pendingAtStart = await s.PendingAsync();
        await TopStatementsAsync();
        var before = await ProbeAsync(s);
        await Task.Delay(o.T3Window);
        var u = await UsageSinceAsync(s, before);
        var statements = await TopStatementsAsync(byCalls: true);
        var pendingAtEnd = await s.PendingAsync();
        await stopFeed.CancelAsync();
        var (feedMin, feedMax) = await feed;
        await s.StopWorkersAsync();
        Console.WriteLine($"  {u.DeviceCalls} device calls in {u.Seconds:F1} s ({u.DeviceCalls / u.Seconds:F1}/s), workers CPU {u.WorkerCpuMs:F0} ms = {u.WorkerCpuMsPerCall:F3} ms per call; {u.Applied} applied; pending {pendingAtStart} → {pendingAtEnd}" +
                          (topUp ? $" (feeder saw {feedMin}–{feedMax})" : "") +
                          $"; steady after {warmup.Seconds:F0} s (CPU-ms per call {string.Join(" → ", warmup.Series.Select(v => v.ToString("F2", System.Globalization.CultureInfo.InvariantCulture)))})");
        return JsonSerializerNode(new
        {
            backlog, kept_topped_up = topUp, seconds = Math.Round(u.Seconds, 2),
            device_calls = u.DeviceCalls, device_calls_applied = u.Applied, device_calls_per_second = Math.Round(u.DeviceCalls / u.Seconds, 1),
            workers_cpu_ms = Math.Round(u.WorkerCpuMs), worker_cpu_ms_per_device_call = u.WorkerCpuMsPerCall, workers = u.WorkersJson,
            pending_at_start = pendingAtStart, pending_at_end = pendingAtEnd,
            warmup_seconds = Math.Round(warmup.Seconds, 1), warmup_worker_cpu_ms_per_call = warmup.Series.Select(v => Math.Round(v, 3)).ToList(),
            feeder_pending_min = topUp ? feedMin : (long?)null, feeder_pending_max = topUp ? feedMax : (long?)null,
            statements_by_calls = statements,
        }).AsObject();
    }

    /// <summary>Keeps the pending entries at about <paramref name="target"/>; returns the lowest and highest count it saw.</summary>
    private async Task<(long Min, long Max)> FeedAsync(string template, int target, CancellationToken ct)
    {
        long min = long.MaxValue, max = 0;
        while (!ct.IsCancellationRequested)
        {
            var pending = await pg.ScalarAsync<long>("select count(*) from outbox_entries where state = 'pending'");
            min = Math.Min(min, pending);
            max = Math.Max(max, pending);
            if (pending < target) await InsertNetworkBacklogAsync(template, (int)(target - pending), notify: true);
            try { await Task.Delay(200, ct); } catch (OperationCanceledException) { }
        }
        return (min == long.MaxValue ? 0 : min, max);
    }

    /// <summary>Copies of the network <paramref name="template"/> the API accepted (row PENDING_CREATE + pending create entry).</summary>
    private Task InsertNetworkBacklogAsync(string template, int count, bool notify) => count <= 0 ? Task.CompletedTask : pg.ExecAsync($$"""
        with ids as materialized (select gen_random_uuid() as id, i from generate_series(1, {{count}}) i),
        ins as (
            insert into networks (id, project_id, name, status, revision_number, applied_revision, created_at, updated_at)
            select ids.id, n.project_id, 'backlog-' || ids.i, 'PENDING_CREATE', 1, 0, now(), now()
            from ids, (select project_id from networks where id = '{{template}}') n)
        insert into outbox_entries (resource_type, resource_id, operation, revision, payload, project_id, depends_on, state, created_at)
        select 'network', ids.id, 'create', 1, jsonb_set(jsonb_set(t.payload, '{id}', to_jsonb(ids.id::text)), '{name}', to_jsonb('backlog-' || ids.i)),
               t.project_id, t.depends_on, 'pending', now()
        from ids, (select payload, project_id, depends_on from outbox_entries where resource_id = '{{template}}' order by seq limit 1) t
        order by ids.i;
        {{(notify ? "select pg_notify('outbox_wakeup', '');" : "")}}
        """);

    private static readonly TimeSpan T4SteadyWait = TimeSpan.FromSeconds(60);

    /// <summary>
    /// Waits out the minimum warm-up, then until the device call rate stops rising: two consecutive 5 s rates within
    /// 3 % of each other, or at most <see cref="T4SteadyWait"/> longer. Replicas started together compile their hot
    /// paths for tens of seconds (perf over T4's 8-replica window after a fixed 20 s warm-up: clrjit and the tiered
    /// compilation threads 10.6 % of the box's samples), which is start-up, not the cost per call the window measures;
    /// the time it took is reported beside the rate.
    /// </summary>
    private Task<(double Seconds, List<double> Series)> WarmUntilSteadyAsync(Stack s) =>
        WarmUntilSteadyAsync(s, TimeSpan.FromSeconds(5), T4SteadyWait,
            u => u.DeviceCalls / u.Seconds, (previous, last) => last <= previous * 1.03);

    /// <summary>T3's backlog windows start at least this long after their fresh workers (see <see cref="BacklogCostAsync"/>).</summary>
    private TimeSpan T3MinimumWarmup => o.T3WarmupChosen ?? (o.Smoke ? o.CostWarmup : TimeSpan.FromSeconds(60));

    /// <summary>
    /// Waits out the minimum warm-up, then measures <paramref name="step"/>-long windows until
    /// <paramref name="settled"/>(previous, last) holds for the last two values of <paramref name="measure"/>, or
    /// <paramref name="maxWait"/> has passed, and not before <paramref name="atLeast"/>; returns how long it took and
    /// the values seen.
    /// </summary>
    private async Task<(double Seconds, List<double> Series)> WarmUntilSteadyAsync(Stack s, TimeSpan step, TimeSpan maxWait,
        Func<Usage, double> measure, Func<double, double, bool> settled, TimeSpan atLeast = default)
    {
        var started = DateTime.UtcNow;
        await Task.Delay(o.CostWarmup);
        var series = new List<double>();
        var deadline = o.CostWarmup + maxWait > atLeast + 2 * step ? o.CostWarmup + maxWait : atLeast + 2 * step;
        while (DateTime.UtcNow - started < deadline)
        {
            var before = await ProbeAsync(s);
            await Task.Delay(step);
            series.Add(measure(await UsageSinceAsync(s, before)));
            if (series.Count >= 2 && settled(series[^2], series[^1]) && DateTime.UtcNow - started >= atLeast)
            {
                break;
            }
        }
        return ((DateTime.UtcNow - started).TotalSeconds, series);
    }

    // T4 scale-out at 1 s device latency: device calls/s over 32 × replicas ÷ latency, in a fixed window with work left at its end.
    private async Task T4Async(Stack s)
    {
        var rows = new JsonObject();
        foreach (var (latency, replicas) in o.T4Replicas.Select(r => (1000, r)).Concat(o.T4FastReplicas.Select(r => (200, r))))
        {
            var ideal = o.InFlight * replicas / (latency / 1000.0);
            // Enough distinct resources that every in-flight slot has work through warm-up, start-up and the window.
            var ports = (int)Math.Max(300, Math.Ceiling(ideal * (o.CostWarmup + T4SteadyWait + o.T4Window).TotalSeconds * 1.3 + ideal * 3));
            _progress.Phase($"{s.Design}: T4 scale-out, {replicas} replica(s), device {latency} ms, {ports:N0} port creates pending, {o.T4Window.TotalSeconds:0} s window");
            var net = await FreshAsync(s, latency, 1);
            await s.StopWorkersAsync();
            var template = await s.CreatePortAsync(net, "t4-0");
            await pg.ExecAsync($$"""
                with ids as materialized (select gen_random_uuid() as id, i, {{MacSql("fa:19", "i")}} as mac from generate_series(1, {{ports - 1}}) i),
                ins as (
                    insert into ports (id, project_id, name, status, revision_number, applied_revision, created_at, updated_at, network_id, mac_address)
                    select ids.id, p.project_id, 't4-' || ids.i, p.status, 1, 0, now(), now(), p.network_id, ids.mac
                    from ids, (select project_id, status, network_id from ports where id = '{{template}}') p)
                insert into outbox_entries (resource_type, resource_id, operation, revision, payload, project_id, depends_on, state, created_at)
                select 'port', ids.id, 'create', 1,
                       jsonb_set(jsonb_set(jsonb_set(t.payload, '{id}', to_jsonb(ids.id::text)), '{name}', to_jsonb('t4-' || ids.i)), '{mac_address}', to_jsonb(ids.mac)),
                       t.project_id, t.depends_on, 'pending', now()
                from ids, (select payload, project_id, depends_on from outbox_entries where resource_id = '{{template}}' order by seq limit 1) t
                order by ids.i;
                """);
            await pg.ExecAsync("vacuum analyze ports, outbox_entries");
            await s.StartWorkersAsync(replicas);
            await WaitWorkersAsync(replicas);
            var warmup = await WarmUntilSteadyAsync(s);
            var before = await ProbeAsync(s);
            await Task.Delay(o.T4Window);
            var u = await UsageSinceAsync(s, before);
            var left = await s.PendingAsync();
            await s.StopWorkersAsync();
            var perSecond = u.DeviceCalls / u.Seconds;
            var fraction = perSecond / ideal;
            Console.WriteLine($"  {u.DeviceCalls} device calls in {u.Seconds:F1} s = {perSecond:F1}/s ({u.Applied} applied), ideal {ideal:F0}/s, {fraction:F3} of ideal (≥ {Target.T4FractionOfIdeal}); workers CPU {u.WorkerCpuMsPerCall:F3} ms per call; {left} still pending{(left == 0 ? " (RAN OUT OF WORK: not saturated)" : "")}; steady after {warmup.Seconds:F0} s (rates {string.Join(" → ", warmup.Series.Select(r => r.ToString("F0", System.Globalization.CultureInfo.InvariantCulture)))}/s)");
            rows[$"{latency}ms-{replicas}"] = JsonSerializerNode(new
            {
                device_latency_ms = latency, replicas, ports, seconds = Math.Round(u.Seconds, 2),
                warmup_seconds = Math.Round(warmup.Seconds, 1), warmup_rates_per_second = warmup.Series.Select(r => Math.Round(r, 1)).ToList(),
                device_calls = u.DeviceCalls, device_calls_applied = u.Applied, device_calls_per_second = Math.Round(perSecond, 1), ideal_per_second = ideal,
                fraction_of_ideal = Math.Round(fraction, 3), target_fraction_of_ideal = Target.T4FractionOfIdeal,
                pending_at_end = left, saturated = left > 0,
                workers_cpu_ms = Math.Round(u.WorkerCpuMs), worker_cpu_ms_per_device_call = u.WorkerCpuMsPerCall, workers = u.WorkersJson,
                machine = u.MachineJson(),
            });
        }
        results.Add("T4", s.Design, new
        {
            rows, in_flight_limit = o.InFlight, window_seconds = o.T4Window.TotalSeconds, min_warmup_seconds = o.CostWarmup.TotalSeconds,
            method = "port creates (copies of one the API accepted, inserted by SQL) on one network the back end has; workers started and warmed up until the call rate stopped rising (two 5 s rates within 3 %, at most 60 s past the minimum warm-up), then mutating device calls counted by the simulator over a fixed window",
        });
        await s.ResetAsync(0);
    }
}
