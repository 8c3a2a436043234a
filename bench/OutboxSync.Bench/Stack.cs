using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;

namespace OutboxSync.Bench;

public static class Designs
{
    public const string OutboxSync = "outboxsync";
    public static readonly string[] All = [OutboxSync, "inline", "post-commit", "global-lock", "lock-table-unique", "lock-table", "hangfire"];
    /// <summary>Designs that accept at once and apply later (they have a drain to measure).</summary>
    public static bool IsAsync(string d) => d is OutboxSync or "hangfire";
}

/// <summary>
/// The simulator, the front end (OutboxSync API or a baseline) and N drain processes (OutboxSync workers or
/// Hangfire servers) of one design, on one database. Workers can be restarted alone between scenarios.
/// </summary>
public sealed class Stack : IAsyncDisposable
{
    private readonly BenchOptions _o;
    private readonly Postgres _pg;
    public string Design { get; }
    public Service Simulator { get; private set; } = null!;
    public Service Front { get; private set; } = null!;
    public List<Service> Workers { get; } = [];
    public string Token { get; } = Convert.ToHexString(RandomNumberGenerator.GetBytes(16)).ToLowerInvariant();
    public HttpClient Admin { get; } = new() { Timeout = TimeSpan.FromSeconds(60) };

    public Stack(BenchOptions o, Postgres pg, string design) { _o = o; _pg = pg; Design = design; }

    private string Dll(string project) => Path.Combine(_o.Root, "src", project, "bin", _o.Configuration, "net10.0", $"OutboxSync.{project}.dll");
    private string BaselineDll => Path.Combine(_o.BenchRoot, "bench", "OutboxSync.Bench.Baselines", "bin", _o.Configuration, "net10.0", "OutboxSync.Bench.Baselines.dll");
    private string Conn(int? pool = 100) => _pg.ConnectionString(pool: pool);

    public async Task StartAsync()
    {
        Simulator = await Service.StartAsync("simulator", Dll("Simulator"), new Dictionary<string, string>(),
            ["--Simulator:CallLogCapacity=2000000", "--Simulator:IdempotencyCacheCapacity=2000000"], health: "/healthz");
        if (Design == Designs.OutboxSync)
        {
            var sha = Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(Token))).ToLowerInvariant();
            Front = await Service.StartAsync("api", Dll("Api"), new Dictionary<string, string>
            {
                ["Database__ConnectionString"] = Conn(),
                ["Auth__Tokens__0__Sha256"] = sha,
                ["Auth__Tokens__0__ProjectId"] = "bench",
                ["Auth__Tokens__0__Roles__0"] = "admin",
                ["Auth__Tokens__0__Name"] = "bench",
                ["Api__RateLimit__Enabled"] = "false",
            });
        }
        else
        {
            Front = await Service.StartAsync("baseline-api", BaselineDll, BaselineEnv(), ["--design", Design, "--role", "api"]);
        }
    }

    /// <summary>Another API process of this baseline design beside <see cref="Front"/> (S10's survivor).</summary>
    public Task<Service> StartBaselineApiAsync(string name, IEnumerable<string> args) =>
        Service.StartAsync(name, BaselineDll, BaselineEnv(), ["--design", Design, "--role", "api", .. args]);

    /// <summary>Replaces a front end that was killed (S10) with a fresh process of the same design.</summary>
    public async Task RestartFrontAsync()
    {
        await Front.DisposeAsync();
        Front = await Service.StartAsync("baseline-api", BaselineDll, BaselineEnv(), ["--design", Design, "--role", "api"]);
    }

    private Dictionary<string, string> BaselineEnv() => new()
    {
        ["Database__ConnectionString"] = Conn(),
        ["Backend__BaseUrl"] = Simulator.Url!,
    };

    /// <summary>Starts <paramref name="replicas"/> drain processes (none for the synchronous designs).</summary>
    public async Task StartWorkersAsync(int replicas, bool listen = true)
    {
        await StopWorkersAsync();
        if (!Designs.IsAsync(Design)) return;
        var starts = Enumerable.Range(1, replicas).Select(i => Design == Designs.OutboxSync
            ? Service.StartAsync($"worker-{i}", Dll("Worker"), new Dictionary<string, string>
            {
                // The worker's own pool size (Database:MaxPoolSize, 8 by default), as shipped.
                ["Database__ConnectionString"] = Conn(null),
                ["Backend__BaseUrl"] = Simulator.Url!,
                ["Worker__InstanceId"] = $"bench-worker-{i}",
                ["Worker__MaxInFlight"] = _o.InFlight.ToString(),
                ["Worker__ListenForNotifications"] = listen ? "true" : "false",
            }, listens: false)
            : Service.StartAsync($"hangfire-{i}", BaselineDll, BaselineEnv(), ["--design", Design, "--role", "worker", "--workers", _o.InFlight.ToString()]));
        var startedAt = await _pg.ScalarAsync<string>("select now()::text");
        Workers.AddRange(await Task.WhenAll(starts));
        await WaitWorkersReadyAsync(replicas, listen, startedAt);
    }

    /// <summary>
    /// Ready when every replica shows itself in the database: an OutboxSync worker's heartbeat row (written as it
    /// starts) and, when it listens, its LISTEN session; a Hangfire server's registration since the start.
    /// </summary>
    private async Task WaitWorkersReadyAsync(int replicas, bool listen, string startedAt)
    {
        var beating = $"(select count(*) from worker_replicas where heartbeat_at >= '{startedAt}'::timestamptz)";
        var ready = Design == Designs.OutboxSync
            ? $"select least({beating}, " + (listen ? "(select count(*) from pg_stat_activity where query = 'listen outbox_wakeup'))" : $"{beating})")
            // Hangfire keeps heartbeats as UTC timestamps without a zone.
            : $"select count(*) from hangfire.server where lastheartbeat >= ('{startedAt}'::timestamptz at time zone 'utc')";
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (await _pg.ScalarAsync<long>(ready) < replicas)
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"{Design}: {replicas} worker(s) not registered after 60 s");
            await Task.Delay(50);
        }
    }

    public async Task StopWorkersAsync()
    {
        foreach (var w in Workers) await w.DisposeAsync();
        Workers.Clear();
    }

    /// <summary>Empties the design's tables and the simulator; workers must be stopped.</summary>
    public async Task ResetAsync(int latencyMs)
    {
        if (Design == Designs.OutboxSync)
        {
            // Security groups too: the simulator forgets them below, and an entry depending on a group that exists
            // only in the database would wait for a create that will never come. The API's remembered default group
            // then fails its port guard once, and the API makes a new one.
            await _pg.ExecAsync("truncate router_interfaces, ip_allocations, ports, subnets, subnetpools, routers, networks, security_group_rules, security_groups, outbox_entries, resource_leases, worker_replicas cascade");
        }
        else
        {
            await _pg.ExecAsync("""
                truncate baseline.ports, baseline.networks, baseline.cross_server_locks, baseline.cross_server_locks_unique cascade;
                do $$ declare t text; begin
                  for t in select tablename from pg_tables where schemaname = 'hangfire' and tablename in ('job','jobqueue','state','jobparameter','counter','aggregatedcounter','hash','list','set','lock') loop
                    execute format('truncate hangfire.%I cascade', t); end loop; end $$;
                """);
        }
        (await Admin.PostAsync(Simulator.Url + "/_sim/reset", null)).EnsureSuccessStatusCode();
        await SetLatencyAsync(latencyMs);
        await _pg.ExecAsync("select pg_stat_statements_reset()");
    }

    public async Task SetLatencyAsync(int ms) =>
        (await Admin.PutAsJsonAsync(Simulator.Url + "/_sim/faults", new { latency_min_ms = ms, latency_max_ms = ms })).EnsureSuccessStatusCode();

    public async Task<Dictionary<string, long>> ViolationsAsync()
    {
        var j = await Admin.GetFromJsonAsync<JsonObject>(Simulator.Url + "/_sim/violations");
        return j!.ToDictionary(kv => kv.Key, kv => kv.Value!.GetValue<long>());
    }

    public async Task<long> PortDeviceCallsAsync()
    {
        var j = await Admin.GetFromJsonAsync<JsonObject>(Simulator.Url + "/_sim/stats");
        var calls = j!["calls"]!.AsObject();
        return (calls["POST ports"]?.GetValue<long>() ?? 0) + (calls["PUT ports"]?.GetValue<long>() ?? 0);
    }

    /// <summary>
    /// Every mutating call the simulator has counted on arrival (POST, PUT, DELETE of any collection) since its last
    /// reset, and how many of the finished ones it applied (/_sim/stats "calls" and "outcomes").
    /// </summary>
    public async Task<(long Calls, long Applied)> MutationDeviceCallsAsync()
    {
        var j = await Admin.GetFromJsonAsync<JsonObject>(Simulator.Url + "/_sim/stats");
        var calls = j!["calls"]!.AsObject()
            .Where(kv => kv.Key.StartsWith("POST ", StringComparison.Ordinal) || kv.Key.StartsWith("PUT ", StringComparison.Ordinal) || kv.Key.StartsWith("DELETE ", StringComparison.Ordinal))
            .Sum(kv => kv.Value!.GetValue<long>());
        return (calls, j["outcomes"]?["applied"]?.GetValue<long>() ?? 0);
    }

    /// <summary>Creates a subnet through the API (accepted, not waited for) and returns its id.</summary>
    public async Task<string> CreateSubnetAsync(string networkId, string cidr)
    {
        using var c = NewClient(TimeSpan.FromSeconds(30));
        var resp = await c.PostAsJsonAsync("/v2.0/subnets", new { subnet = new { network_id = networkId, ip_version = 4, cidr } });
        var body = await resp.Content.ReadAsStringAsync();
        if (!resp.IsSuccessStatusCode) throw new InvalidOperationException($"subnet create: {(int)resp.StatusCode} {body}");
        return JsonNode.Parse(body)!["subnet"]!["id"]!.GetValue<string>();
    }

    /// <summary>Creates a port through the API (accepted, not waited for) and returns its id.</summary>
    public async Task<string> CreatePortAsync(string networkId, string name)
    {
        using var c = NewClient(TimeSpan.FromSeconds(30));
        var resp = await c.PostAsJsonAsync("/v2.0/ports", new { port = new { network_id = networkId, name } });
        var body = await resp.Content.ReadAsStringAsync();
        if (!resp.IsSuccessStatusCode) throw new InvalidOperationException($"port create: {(int)resp.StatusCode} {body}");
        return JsonNode.Parse(body)!["port"]!["id"]!.GetValue<string>();
    }

    /// <summary>Port mutations in the simulator's call log and the window they span (first start → last finish).</summary>
    public async Task<(long Calls, double Seconds)> PortCallWindowAsync()
    {
        var j = await Admin.GetFromJsonAsync<JsonObject>(Simulator.Url + "/_sim/calls");
        var items = j!["items"]!.AsArray().Where(c => c!["collection"]?.GetValue<string>() == "ports").ToList();
        if (items.Count == 0) return (0, 0);
        var first = items.Min(c => DateTimeOffset.Parse(c!["started_at"]!.GetValue<string>()));
        var last = items.Max(c => DateTimeOffset.Parse(c!["finished_at"]!.GetValue<string>()));
        return (items.Count, (last - first).TotalSeconds);
    }

    /// <summary>Rows not yet applied at the back end (the design's own notion of "pending").</summary>
    public Task<long> PendingAsync() => Design == Designs.OutboxSync
        ? _pg.ScalarAsync<long>("select count(*) from outbox_entries where state = 'pending'")
        : Design == "hangfire"
            ? _pg.ScalarAsync<long>("select count(*) from baseline.ports where applied_revision < revision")
            : Task.FromResult(0L);

    /// <summary>Waits until nothing is pending; returns false on timeout.</summary>
    public async Task<bool> WaitDrainedAsync(TimeSpan timeout, Action<long>? progress = null)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline)
        {
            var pending = await PendingAsync();
            progress?.Invoke(pending);
            if (pending == 0) return true;
            await Task.Delay(50);
        }
        return false;
    }

    /// <summary>Waits until nothing is pending and the simulator has no call in flight (a synchronous design's last
    /// call, or a drain's, has finished at the back end); returns false on timeout.</summary>
    public async Task<bool> WaitSettledAsync(TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        if (!await WaitDrainedAsync(timeout)) return false;
        while (DateTime.UtcNow < deadline)
        {
            var stats = await Admin.GetFromJsonAsync<System.Text.Json.Nodes.JsonObject>($"{Simulator.Url}/_sim/stats");
            if (stats?["in_flight"]?.GetValue<long>() == 0) return true;
            await Task.Delay(20);
        }
        return false;
    }

    public HttpClient NewClient(TimeSpan timeout)
    {
        var h = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = 1, PooledConnectionLifetime = TimeSpan.FromMinutes(10) })
        {
            BaseAddress = new Uri(Front.Url!),
            Timeout = timeout,
        };
        h.DefaultRequestHeaders.Add("X-Auth-Token", Token);
        return h;
    }

    /// <summary>Creates the network the ports hang off; for OutboxSync waits until the back end has it.</summary>
    public async Task<string> CreateNetworkAsync()
    {
        using var c = NewClient(TimeSpan.FromSeconds(30));
        var resp = await c.PostAsJsonAsync("/v2.0/networks", new { network = new { name = "bench-net" } });
        var body = await resp.Content.ReadAsStringAsync();
        if (!resp.IsSuccessStatusCode) throw new InvalidOperationException($"network create: {(int)resp.StatusCode} {body}");
        return JsonNode.Parse(body)!["network"]!["id"]!.GetValue<string>();
    }

    public async ValueTask DisposeAsync()
    {
        await StopWorkersAsync();
        if (Front is not null) await Front.DisposeAsync();
        if (Simulator is not null) await Simulator.DisposeAsync();
        Admin.Dispose();
    }
}
