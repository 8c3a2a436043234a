using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Npgsql;
using OutboxSync.Chaos.Tests.Stack;
using OutboxSync.Chaos.Tests.Verification;
using OutboxSync.Chaos.Tests.Workload;
using OutboxSync.Migrations;
using Xunit.Abstractions;

namespace OutboxSync.Chaos.Tests.Partition;

/// <summary>
/// Workers on separate hosts and networks that fail in parts. The API and three worker replicas each run in a
/// network namespace of their own (<see cref="TestNetwork"/>); PostgreSQL and the back end listen on two other
/// addresses, so each path is cut on its own while the chaos run's workload records every acknowledged operation:
/// a worker cut from the database while it still reaches the back end (the fencing case), a worker cut from the back
/// end, a full partition, 30 % loss and a 500 ms delay on the way to the database, and cuts that heal mid-call. The
/// end state is judged by the chaos run's checker. Where namespaces cannot be made it says why and skips.
/// </summary>
[Trait("Category", "Partition")]
public sealed class PartitionRunTests(ITestOutputHelper output)
{
    private const string Database = "partition";
    private readonly RunLog _log = new(output, "partition");

    [SkippableFact]
    public async Task Every_acknowledged_operation_is_applied_once_and_in_order_across_cut_lossy_and_slow_links()
    {
        var unavailable = TestNetwork.Unavailable();
        if (unavailable is not null)
        {
            Log($"skipped: {unavailable}");
        }
        Skip.If(unavailable is not null, unavailable);

        var settings = FailoverSettingsFor();
        Log($"partition run: {settings.Operations} operations on {settings.Resources} resources over {settings.Window.TotalSeconds:F0} s, seed {settings.Seed}");
        await using var network = await TestNetwork.CreateAsync(hosts: 4);
        await using var server = await PostgresServer.StartDedicatedAsync(network.DatabaseAddress, network.Cidr);
        await using (var admin = new NpgsqlConnection(server.ConnectionStringFor("postgres")))
        {
            await admin.OpenAsync();
            await using var create = new NpgsqlCommand($"create database {Database}", admin);
            await create.ExecuteNonQueryAsync();
        }
        await SchemaMigrator.ApplyAsync(new NpgsqlConnectionStringBuilder(server.ConnectionStringFor(Database)) { Pooling = false }.ConnectionString);
        await using var proxy = new DelayingProxy(network.DatabaseAddress, ServiceProcess.FreePort(), new IPEndPoint(IPAddress.Parse(network.DatabaseAddress), server.Port));
        await using var simulator = await SimulatorProcess.StartAsync(network.BackendAddress);
        // Calls last long enough to be in flight when a cut starts or heals.
        await simulator.SetFaultsAsync(new { latency_min_ms = 20, latency_max_ms = 400 });

        var apiHost = network.Hosts[0];
        await using var api = await ServiceProcess.StartAsync("Api", new Dictionary<string, string>
        {
            ["Database__ConnectionString"] = Connection(network.DatabaseAddress, server.Port, "partition-api"),
            ["Auth__Tokens__0__Sha256"] = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(ChaosStack.Token))),
            ["Auth__Tokens__0__ProjectId"] = ChaosStack.ProjectId,
            ["Auth__Tokens__0__Roles__0"] = "admin",
            ["Api__RateLimit__Enabled"] = "false",
            ["Logging__LogLevel__Default"] = "Warning",
        }, networkNamespace: apiHost.Namespace, address: apiHost.Address);
        var workers = new List<(TestHost Host, string InstanceId, ServiceProcess Process)>();
        try
        {
            foreach (var host in network.Hosts.Skip(1))
            {
                var id = $"partition-worker-{host.Name}";
                workers.Add((host, id, await StartWorkerAsync(host, id, Connection(network.DatabaseAddress, proxy.Port, id), simulator)));
            }
            Log($"hosts: API {apiHost.Address}, workers {string.Join(", ", workers.Select(w => w.Host.Address))}; PostgreSQL {network.DatabaseAddress}:{server.Port} (workers through the delay proxy :{proxy.Port}), back end {simulator.BaseUrl}");
            var table = await DriveAsync(settings, network, server, proxy, simulator, api, workers);
            Assert.True(table.Failures.Count == 0, string.Join('\n', table.Failures));
        }
        finally
        {
            foreach (var (host, _, process) in workers)
            {
                if (settings.ReportDirectory is { } directory)
                {
                    Directory.CreateDirectory(directory);
                    await File.WriteAllTextAsync(Path.Combine(directory, $"partition-{host.Name}.log"), process.Output);
                }
                await process.DisposeAsync();
            }
        }
    }

    private async Task<SummaryTable> DriveAsync(Failover.FailoverSettings settings, TestNetwork network, PostgresServer server, DelayingProxy proxy,
        SimulatorProcess simulator, ServiceProcess api, List<(TestHost Host, string InstanceId, ServiceProcess Process)> workers)
    {
        using var client = new NeutronClient(api.Url!, ChaosStack.Token, viaBouncer: false);
        var plans = WorkloadPlan.Build(settings.Operations, settings.Resources, new Random(settings.Seed));
        var workload = new ChaosWorkload([client], plans, settings.Clients, settings.Seed);
        var run = workload.RunAsync(settings.Window, CancellationToken.None);
        var w = settings.Window;
        var (a, b, c) = (workers[0], workers[1], workers[2]);
        var faults = new List<(string Fault, string What)>();

        // 1. The fencing case: A still reaches the back end but can no longer renew.
        // Slow calls, so A is cut while it holds leases with calls in flight.
        await AtAsync(w * 0.08);
        await simulator.SetFaultsAsync(new { latency_min_ms = 1500, latency_max_ms = 2500 });
        var heldAtCut = await Eventually.WaitAsync(() => LeasesOfAsync(server, a.InstanceId), held => held.Count > 0,
            TimeSpan.FromSeconds(30), $"{a.Host.Name} to hold a lease");
        var cutAt = DateTimeOffset.UtcNow;
        network.Cut(a.Host, network.DatabaseAddress);
        Log($"{a.Host.Name} cut from the database holding {heldAtCut.Count} leases; back end still reachable");
        await Task.Delay(ChaosSettings.LeaseDuration * 2);
        network.Heal(a.Host);
        await simulator.SetFaultsAsync(new { latency_min_ms = 20, latency_max_ms = 400 });
        faults.Add(("worker ↔ database cut, back end up", $"{a.Host.Name} for {(ChaosSettings.LeaseDuration * 2).TotalSeconds:F0} s holding {heldAtCut.Count} leases"));

        // 2. A worker that reaches the database but not the back end.
        await AtAsync(w * 0.40);
        network.Cut(b.Host, network.BackendAddress);
        Log($"{b.Host.Name} cut from the back end");
        await Task.Delay(TimeSpan.FromSeconds(8));
        network.Heal(b.Host);
        faults.Add(("worker ↔ back end cut, database up", $"{b.Host.Name} for 8 s"));

        // 3. A full partition of one worker.
        await AtAsync(w * 0.55);
        var heldAtPartition = await LeasesOfAsync(server, c.InstanceId);
        network.Cut(c.Host, network.DatabaseAddress);
        network.Cut(c.Host, network.BackendAddress);
        Log($"{c.Host.Name} fully partitioned holding {heldAtPartition.Count} leases");
        await Task.Delay(TimeSpan.FromSeconds(12));
        network.Heal(c.Host);
        faults.Add(("full partition", $"{c.Host.Name} for 12 s holding {heldAtPartition.Count} leases"));

        // 4. Loss and delay on the way to the database only (asymmetric).
        await AtAsync(w * 0.72);
        var netem = TestNetwork.HasNetem(a.Host);
        network.Loss(a.Host, network.DatabaseAddress, 30);
        proxy.Delay(b.Host.Address, TimeSpan.FromMilliseconds(500));
        Log($"30 % loss {a.Host.Name} → database; 500 ms delay {b.Host.Name} → database");
        await Task.Delay(TimeSpan.FromSeconds(8));
        network.Heal(a.Host);
        proxy.Delay(b.Host.Address, TimeSpan.Zero);
        faults.Add(("30 % loss to the database (one way)", $"{a.Host.Name} for 8 s (nftables numgen drop)"));
        faults.Add(("500 ms delay to the database (one way)",
            $"{b.Host.Name} for 8 s ({(netem ? "netem is available, but the proxy keeps runs comparable" : "this kernel has no netem (sch_netem): a delaying TCP proxy on the path")})"));

        // 5. Cuts shorter than a call, so they heal while calls are in flight (TCP retransmits carry them through).
        await AtAsync(w * 0.88);
        for (var i = 0; i < 3; i++)
        {
            network.Cut(c.Host, network.BackendAddress);
            await Task.Delay(TimeSpan.FromMilliseconds(1500));
            network.Heal(c.Host);
            await Task.Delay(TimeSpan.FromSeconds(1));
        }
        faults.Add(("partitions that heal mid-call", $"{c.Host.Name} ↔ back end cut 3 × 1.5 s (calls last 20-400 ms, attempt timeout 3 s)"));
        Log("faults over");

        var workloadFailure = await RunLog.FailureOfAsync(run);
        Log($"workload finished: {workload.Accepted.Count} acknowledged; waiting for the queue to drain");
        var drainFailure = await RunLog.FailureOfAsync(Eventually.WaitAsync(() => PendingAsync(server), n => n == 0,
            TimeSpan.FromSeconds(300), "the outbox to drain"));
        var state = await FinalState.ReadAsync(() => Probe(server), simulator);
        var verdict = ChaosVerdict.Judge(workload.Resources, workload.Accepted, state);
        var reconciliation = await ReconciliationRun.RequestAsync(client, Log);
        var afterExpiry = await CallsAfterAsync(simulator, heldAtCut, cutAt + ChaosSettings.LeaseDuration);

        var t = new SummaryTable();
        t.Note("run", "size", $"{settings.Operations} operations on {settings.Resources} resources over {w.TotalSeconds:F0} s, {settings.Clients} clients, seed {settings.Seed}");
        t.Note("run", "hosts", $"API and 3 workers in network namespaces of their own; PostgreSQL and back end on separate addresses");
        foreach (var (fault, what) in faults)
        {
            t.Note("faults", fault, what);
        }
        t.Check("fencing", $"calls under {a.Host.Name}'s leases starting after they could have expired (cut from the database, back end reachable)",
            $"{afterExpiry.Late} of {afterExpiry.Total} calls under {heldAtCut.Count} leases; {afterExpiry.TakenOver} of those resources taken over with a newer token",
            heldAtCut.Count > 0 && afterExpiry.TakenOver > 0 && afterExpiry.Late == 0);
        foreach (var (host, _, process) in workers)
        {
            t.Note("faults", $"what {host.Name}'s worker counted (/metrics)", await WorkerCountsAsync(process));
        }
        t.Check("hosts", "processes that exited", $"{workers.Count(x => x.Process.HasExited)} workers, {(api.HasExited ? 1 : 0)} API",
            !api.HasExited && workers.All(x => !x.Process.HasExited));
        var accepted = workload.Accepted;
        t.Check("workload", "acknowledged operations", $"{accepted.Count} (required >= {settings.Operations})", accepted.Count >= settings.Operations);
        t.Note("workload", "answers to mutating calls (all attempts)",
            string.Join(", ", workload.Answers.OrderBy(x => x.Key).Select(x => $"{x.Key}: {x.Value}")) + $", transport failures: {workload.TransportFailures}");
        t.Check("workload", "API 500 answers", workload.Answers.GetValueOrDefault(500).ToString(CultureInfo.InvariantCulture), workload.Answers.GetValueOrDefault(500) == 0);
        t.Check("workload", "refused calls", workload.Refusals.Count.ToString(CultureInfo.InvariantCulture), workload.Refusals.Count == 0, workload.Refusals);
        t.Check("workload", "clients finished", workloadFailure?.Message ?? "yes", workloadFailure is null);
        var ops = verdict.Operations;
        int Count(OperationOutcome o) => ops.Where(p => p.Key.Outcome == o).Sum(p => p.Value);
        t.Check("outcome", "acknowledged operations (lost = not applied)",
            $"applied {Count(OperationOutcome.Applied)}, superseded by a later delete {Count(OperationOutcome.SupersededByDelete)}, ERROR with reason {Count(OperationOutcome.ErrorWithReason)}, not applied {Count(OperationOutcome.NotApplied)}",
            Count(OperationOutcome.NotApplied) == 0 && ops.Values.Sum() == accepted.Count, verdict.Problems);
        t.Check("outcome", "resources", string.Join(", ", Enum.GetValues<ResourceOutcome>().Select(o => $"{o} {verdict.Resources.GetValueOrDefault(o)}")),
            verdict.Resources.GetValueOrDefault(ResourceOutcome.Wrong) == 0, verdict.Problems);
        t.Check("outcome", "queue drained", drainFailure?.Message ?? "yes", drainFailure is null);
        t.Check("outcome", "database vs back end (drift)", $"{verdict.Drift.Count} differences", verdict.Drift.Count == 0, verdict.Drift);
        var findings = reconciliation?["findings"] is JsonArray list ? list.Count : -1;
        t.Check("outcome", "reconciliation run (operator API)", reconciliation is null ? "did not finish" : $"#{reconciliation["id"]} {reconciliation["state"]}, {findings} findings",
            reconciliation?["state"]?.GetValue<string>() == "finished" && findings == 0);
        t.Check("outcome", "simulator violation counters (duplicated, out of order, overlapping)",
            string.Join(", ", state.Violations.Select(v => $"{v.Key} {v.Value}")),
            state.Violations.Count >= 5 && state.Violations.Values.All(v => v == 0), state.OverlappingCalls);
        if (settings.ReportDirectory is { } logDirectory)
        {
            await AcknowledgedLog.WriteAsync(Path.Combine(logDirectory, "partition-acknowledged.jsonl"), workload.Accepted, verdict);
        }
        var rendered = t.Render();
        Log("\n" + rendered);
        if (settings.ReportDirectory is { } directory)
        {
            Directory.CreateDirectory(directory);
            await File.WriteAllTextAsync(Path.Combine(directory, "partition.md"), rendered);
        }
        return t;
    }

    /// <summary>The run's sizes: the failover run's variables (FAILOVER_*), which scripts/failover.sh sets for both.</summary>
    private static Failover.FailoverSettings FailoverSettingsFor()
    {
        var settings = Failover.FailoverSettings.FromEnvironment();
        // Five faults need a longer window than one failover.
        return Environment.GetEnvironmentVariable("FAILOVER_SECONDS") is { Length: > 0 } ? settings : settings with { Window = TimeSpan.FromSeconds(75) };
    }

    /// <summary>The worker's own counts of what the faults did to it: leases it stopped trusting (by reason) and
    /// drain steps (by outcome), from its Prometheus endpoint.</summary>
    private static async Task<string> WorkerCountsAsync(ServiceProcess worker)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        var text = await http.GetStringAsync(worker.Url + "/metrics");
        var counts = text.Split('\n')
            .Where(l => l.StartsWith("outboxsync_worker_lease_lost_total{", StringComparison.Ordinal)
                || l.StartsWith("outboxsync_worker_steps_total{", StringComparison.Ordinal)
                || l.StartsWith("outboxsync_worker_lease_takeovers_total", StringComparison.Ordinal))
            .Select(l => l.Replace("outboxsync_worker_", "", StringComparison.Ordinal).Replace("_total", "", StringComparison.Ordinal))
            .Select(l => System.Text.RegularExpressions.Regex.Replace(l, @",?otel_scope_name=""[^""]*""|,?job=""[^""]*""|,?instance=""[^""]*""", ""))
            .Select(l => l.Replace("{,", "{", StringComparison.Ordinal).Replace("{}", "", StringComparison.Ordinal));
        return string.Join("; ", counts);
    }

    private async Task AtAsync(TimeSpan offset)
    {
        var wait = offset - _log.Elapsed;
        if (wait > TimeSpan.Zero)
        {
            // The fault schedule: faults fire at fixed points of the paced workload.
            await Task.Delay(wait);
        }
    }

    private static async Task<List<(Guid Resource, long Token)>> LeasesOfAsync(PostgresServer server, string holder)
    {
        await using var probe = Probe(server);
        await probe.OpenAsync();
        await using var cmd = new NpgsqlCommand("select resource_id, token from resource_leases where holder = @holder and expires_at > now()", probe);
        cmd.Parameters.AddWithValue("holder", holder);
        var leases = new List<(Guid, long)>();
        await using var reader = await cmd.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            leases.Add((reader.GetGuid(0), reader.GetInt64(1)));
        }
        return leases;
    }

    /// <summary>For leases a cut worker held: calls the back end got under them after <paramref name="after"/>, all
    /// calls under them, and how many of the resources another holder reached with a newer token.</summary>
    private static async Task<(int Late, int Total, int TakenOver)> CallsAfterAsync(SimulatorProcess simulator, List<(Guid Resource, long Token)> leases, DateTimeOffset after)
    {
        var (late, total, takenOver) = (0, 0, 0);
        foreach (var (resource, token) in leases)
        {
            var calls = (await simulator.Admin.GetFromJsonAsync<JsonObject>($"_sim/calls?resource_id={resource}"))!["items"]!.AsArray();
            var mine = calls.Where(x => x!["fencing_token"]?.GetValue<long>() == token).ToList();
            total += mine.Count;
            late += mine.Count(x => DateTimeOffset.Parse(x!["started_at"]!.GetValue<string>(), CultureInfo.InvariantCulture) > after);
            takenOver += calls.Any(x => x!["fencing_token"]?.GetValue<long>() > token) ? 1 : 0;
        }
        return (late, total, takenOver);
    }

    private static async Task<long> PendingAsync(PostgresServer server)
    {
        await using var probe = Probe(server);
        await probe.OpenAsync();
        await using var cmd = new NpgsqlCommand("select count(*) from outbox_entries where state = 'pending'", probe);
        return (long)(await cmd.ExecuteScalarAsync())!;
    }

    private static NpgsqlConnection Probe(PostgresServer server) =>
        new(new NpgsqlConnectionStringBuilder(server.ConnectionStringFor(Database)) { Pooling = false, ApplicationName = "partition-probe" }.ConnectionString);

    private static string Connection(string address, int port, string applicationName) => new NpgsqlConnectionStringBuilder
    {
        Host = address,
        Port = port,
        Username = "postgres",
        Database = Database,
        ApplicationName = applicationName,
        Timeout = 5,
        // A silently cut link shows up as a dead connection within seconds, not after the kernel's TCP timeouts.
        KeepAlive = 2,
        CommandTimeout = 10,
    }.ConnectionString;

    private static Task<ServiceProcess> StartWorkerAsync(TestHost host, string instanceId, string connection, SimulatorProcess simulator) =>
        ServiceProcess.StartAsync("Worker",
            // Calls of up to 2.5 s while A is cut from the database: a 4 s margin keeps its trust window inside the lease.
            RunWorkerSettings.For(connection, connection, simulator.BaseUrl, instanceId, TimeSpan.FromSeconds(3), TimeSpan.FromSeconds(4)),
            healthPath: "/health/ready", networkNamespace: host.Namespace, address: host.Address);


    private void Log(string line) => _log.Write(line);
}
