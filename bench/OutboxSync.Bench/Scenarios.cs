using System.Diagnostics;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Npgsql;

namespace OutboxSync.Bench;

/// <summary>S1–S9 for one design at a time, on a fresh stack of processes per design.</summary>
public sealed partial class Scenarios(BenchOptions o, Postgres pg, Results results)
{
    private readonly Progress _progress = new();
    private readonly Dictionary<string, long> _violations = [];

    public async Task RunDesignAsync(string design)
    {
        _violations.Clear();
        await using var stack = new Stack(o, pg, design);
        _progress.Phase($"{design}: starting simulator and front end");
        await stack.StartAsync();
        // Warm-up (JIT, pools) at an instant back end; not measured.
        _progress.Phase($"{design}: warm-up");
        var warmNet = await FreshAsync(stack, 0, 1);
        await Load.ChurnAsync(stack, warmNet, o.LoadClients, TimeSpan.FromSeconds(o.Smoke ? 0.5 : 4), o.ClientTimeout, createOnly: false, _progress);
        _progress.Done();
        await stack.WaitDrainedAsync(TimeSpan.FromSeconds(60));
        try
        {
            await RunScenariosAsync(stack);
        }
        catch (Exception)
        {
            Console.Error.WriteLine($"--- {stack.Front?.Name} output tail ---\n{stack.Front?.Tail}");
            foreach (var w in stack.Workers) Console.Error.WriteLine($"--- {w.Name} output tail ---\n{w.Tail}");
            throw;
        }
    }

    private async Task RunScenariosAsync(Stack stack)
    {
        var design = stack.Design;
        if (o.Has("S1")) await S1Async(stack);
        if (o.Has("L1")) await L1Async(stack);
        if (o.Has("S2")) await S2Async(stack);
        if (design == Designs.OutboxSync)
        {
            if (o.Has("S3")) await S3Async(stack);
            if (o.Has("S4")) await S4Async(stack);
        }
        if (o.Has("S5")) await S5Async(stack);
        if (HasS10(design) && o.Has("S10")) await S10Async(stack);
        if (design == Designs.OutboxSync && o.Has("S8")) await S8Async(stack);
        // T1–T4, cost per operation: the product only (the baselines implement only the port subset of the API).
        if (design == Designs.OutboxSync)
        {
            if (o.Has("T1")) await T1Async(stack);
            if (o.Has("T2")) await T2Async(stack);
            if (o.Has("T3")) await T3Async(stack);
            if (o.Has("T4")) await T4Async(stack);
            if (o.Has("T5")) await T5Async(stack);
        }
        results.Add("S7", design, new { total = _violations.Values.Sum(), counters = _violations });
        await stack.StopWorkersAsync();
    }

    private async Task CollectViolationsAsync(Stack s, string scenario)
    {
        foreach (var (k, v) in await s.ViolationsAsync())
        {
            _violations[k] = _violations.GetValueOrDefault(k) + v;
            if (v > 0) Console.WriteLine($"  ! {s.Design} {scenario}: {k} = {v}");
        }
    }

    private async Task<string> FreshAsync(Stack s, int latencyMs, int replicas, bool listen = true)
    {
        await s.StopWorkersAsync();
        await s.ResetAsync(latencyMs);
        await s.SetLatencyAsync(0);
        await s.StartWorkersAsync(replicas, listen);
        var net = await s.CreateNetworkAsync();
        if (!await s.WaitDrainedAsync(TimeSpan.FromSeconds(30))) throw new TimeoutException("network create was not applied");
        await s.SetLatencyAsync(latencyMs);
        return net;
    }

    // S1 accept latency under a slow back end, and S9's API footprint during it.
    private async Task S1Async(Stack s)
    {
        var byClients = new JsonObject();
        foreach (var clients in o.S1Clients)
        {
            _progress.Phase($"{s.Design}: S1 accept latency, {clients} clients, device latency {o.S1LatencyMs} ms, {o.S1Duration.TotalSeconds:F0} s");
            var net = await FreshAsync(s, o.S1LatencyMs, 2);
            var before = Snapshot(s);
            var r = await Load.ChurnAsync(s, net, clients, o.S1Duration, o.ClientTimeout, createOnly: false, _progress);
            _progress.Done();
            var after = Snapshot(s);
            byClients[clients.ToString()] = JsonSerializerNode(new
            {
                load = r.Summary(),
                footprint = Footprint(before, after, r.Ok, apiOps: r.Ok),
            });
            Console.WriteLine($"  p50 {r.P(50):F1} ms  p99 {r.P(99):F1} ms  max {r.MaxMs:F1} ms  {r.RequestsPerSecond:F1} req/s  errors {r.Errors}");
            await s.StopWorkersAsync();
            await CollectViolationsAsync(s, $"S1/{clients}");
        }
        results.Add("S1", s.Design, byClients);
    }

    // L1 (reliability issue's load check): 200 clients for 60 s of create/update churn, device calls of 1 s.
    private async Task L1Async(Stack s)
    {
        _progress.Phase($"{s.Design}: L1 load, {o.L1Clients} clients, device latency 1000 ms, {o.L1Duration.TotalSeconds:F0} s");
        var net = await FreshAsync(s, 1000, 2);
        var r = await Load.ChurnAsync(s, net, o.L1Clients, o.L1Duration, o.ClientTimeout, createOnly: false, _progress);
        _progress.Done();
        Console.WriteLine($"  p50 {r.P(50):F1} ms  p99 {r.P(99):F1} ms  max {r.MaxMs:F1} ms  {r.RequestsPerSecond:F1} req/s  errors {r.Errors}");
        results.Add("L1", s.Design, JsonSerializerNode(new { clients = o.L1Clients, seconds = o.L1Duration.TotalSeconds, load = r.Summary() }));
        await s.WaitDrainedAsync(o.DrainTimeout);
        await s.StopWorkersAsync();
        await CollectViolationsAsync(s, "L1");
    }

    // S2 drain throughput per replica count; S6 transaction hold sampled meanwhile; S9 worker footprint.
    private async Task S2Async(Stack s)
    {
        var ops = o.S2Resources * o.S2OpsPerResource;
        _ = ops;
        if (!Designs.IsAsync(s.Design))
        {
            // Synchronous designs have no drain: their throughput is what the requests themselves achieve.
            _progress.Phase($"{s.Design}: S2 synchronous throughput, {o.LoadClients} clients, device latency {o.S2LatencyMs} ms");
            var net = await FreshAsync(s, o.S2LatencyMs, 0);
            await using var sampler = await TxSampler.StartAsync(pg);
            var before = Snapshot(s);
            var r = await Load.ChurnAsync(s, net, o.LoadClients, o.SyncDuration, o.ClientTimeout, createOnly: false, _progress);
            _progress.Done();
            var longest = (await sampler.StopAsync()).System;
            var after = Snapshot(s);
            results.Add("S2", s.Design, new { synchronous = true, ops_per_second = Math.Round(r.RequestsPerSecond, 1), load = r.Summary(), footprint = Footprint(before, after, r.Ok, r.Ok) });
            results.Add("S6", s.Design, new { longest_transaction_s = Math.Round(longest.Seconds, 3), ratio_to_device_latency = Math.Round(longest.Seconds / (o.S2LatencyMs / 1000.0), 3), query = longest.Query });
            Console.WriteLine($"  {r.RequestsPerSecond:F1} ops/s, longest transaction {longest.Seconds:F3} s");
            await CollectViolationsAsync(s, "S2");
            return;
        }

        var rows = new JsonObject();
        var worstHold = new TxSampler.Longest(0, "");
        var worstScheduler = new TxSampler.Longest(0, "");
        foreach (var replicas in o.S2Replicas)
        {
            _progress.Phase($"{s.Design}: S2 drain, {ops} ops on {o.S2Resources} resources, {replicas} replica(s), device latency {o.S2LatencyMs} ms");
            var net = await FreshAsync(s, o.S2LatencyMs, 1);
            await s.StopWorkersAsync();
            var load = await Load.BatchAsync(s, net, o.LoadClients, o.S2Resources, o.S2OpsPerResource, o.ClientTimeout, _progress);
            _progress.Done();
            await using var sampler = await TxSampler.StartAsync(pg);
            var sw = Stopwatch.StartNew();
            await s.StartWorkersAsync(replicas);
            var before = Snapshot(s);
            var drained = await s.WaitDrainedAsync(o.DrainTimeout, p => _progress.Report($"{p} pending, {sw.Elapsed.TotalSeconds:F0}s"));
            _progress.Done();
            var after = Snapshot(s);
            var holds = await sampler.StopAsync();
            var longest = holds.System;
            if (longest.Seconds > worstHold.Seconds) worstHold = longest;
            if (holds.Scheduler.Seconds > worstScheduler.Seconds) worstScheduler = holds.Scheduler;
            // The drain window comes from the simulator's own call log (first port call start → last finish),
            // so worker process start-up is not counted against the drain.
            var (calls, seconds) = await s.PortCallWindowAsync();
            var ideal = o.InFlight * replicas / (o.S2LatencyMs / 1000.0);
            var opsPerSecond = seconds > 0 ? load.Ok / seconds : 0;
            var callsPerSecond = seconds > 0 ? calls / seconds : 0;
            rows[replicas.ToString()] = JsonSerializerNode(new
            {
                drained, accepted = load.Ok, load_errors = load.Errors, seconds = Math.Round(seconds, 2),
                ops_per_second = Math.Round(opsPerSecond, 1), device_calls = calls, device_calls_per_second = Math.Round(callsPerSecond, 1),
                ideal_per_second = ideal, fraction_of_ideal_calls = Math.Round(callsPerSecond / ideal, 3), fraction_of_ideal_ops = Math.Round(opsPerSecond / ideal, 3),
                longest_transaction_s = Math.Round(longest.Seconds, 3), longest_transaction_query = longest.Query,
                scheduler_longest_transaction_s = Math.Round(holds.Scheduler.Seconds, 3), footprint = Footprint(before, after, load.Ok, 0),
                top_statements = await TopStatementsAsync(),
            });
            Console.WriteLine($"  {opsPerSecond:F1} ops/s, {callsPerSecond:F1} device calls/s ({calls} calls), ideal {ideal:F0}/s, longest tx {longest.Seconds:F3} s (Quartz {holds.Scheduler.Seconds:F3} s){(drained ? "" : " NOT DRAINED")}");
            await s.StopWorkersAsync();
            await CollectViolationsAsync(s, $"S2/{replicas}");
        }
        results.Add("S2", s.Design, rows);
        results.Add("S6", s.Design, new
        {
            longest_transaction_s = Math.Round(worstHold.Seconds, 3), ratio_to_device_latency = Math.Round(worstHold.Seconds / (o.S2LatencyMs / 1000.0), 3), query = worstHold.Query,
            scheduler_longest_transaction_s = Math.Round(worstScheduler.Seconds, 3), scheduler_query = worstScheduler.Query,
        });
    }

    // S3: end-to-end rate with an instant back end over the pgbench single-row-insert commit rate.
    private async Task S3Async(Stack s)
    {
        _progress.Phase($"{s.Design}: S3 pgbench single-row insert, {o.PgbenchSeconds} s");
        var tps = await pg.PgbenchInsertTpsAsync(16, o.PgbenchSeconds);
        Console.WriteLine($"  pgbench {tps:F0} tps");
        var e2e = await EndToEndAsync(s, "S3");
        results.Add("S3", s.Design, new { pgbench_insert_tps = Math.Round(tps, 1), end_to_end = e2e.Json, ratio = Math.Round(e2e.Rate / tps, 3) });
        results.Add("S3-pgbench", "postgres", new { tps = Math.Round(tps, 1) });
    }

    private async Task<(double Rate, JsonNode Json)> EndToEndAsync(Stack s, string label)
    {
        var net = await FreshAsync(s, 0, 2);
        _progress.Phase($"{s.Design}: {label} end to end, {o.S3Ports} port creates, instant back end, 2 replicas");
        var before = s.Design == Designs.OutboxSync ? await ProbeAsync(s) : null;
        var sw = Stopwatch.StartNew();
        var load = await Load.BatchAsync(s, net, o.LoadClients, o.S3Ports, 1, o.ClientTimeout, _progress);
        var drained = await s.WaitDrainedAsync(o.DrainTimeout, p => _progress.Report($"{p} pending"));
        var active = await pg.ScalarAsync<long>("select count(*) from ports where status = 'ACTIVE' and name like 'p%'");
        var seconds = sw.Elapsed.TotalSeconds;
        _progress.Done();
        var rate = active / seconds;
        Console.WriteLine($"  {active} ports ACTIVE in {seconds:F2} s = {rate:F1} ops/s (accept {load.RequestsPerSecond:F1} req/s)");
        // Where the machine's CPU went over accept and drain (OutboxSync's processes; S3's limiter).
        object? machine = null;
        if (before is not null)
        {
            var u = await UsageSinceAsync(s, before);
            machine = u.MachineJson();
            Console.WriteLine($"  CPU: PostgreSQL {u.Machine.Postgres / u.Machine.Total:P0}, API {u.ApiCpuMs / 1000 / u.Machine.Total:P0}, workers {u.WorkerCpuMs / 1000 / u.Machine.Total:P0}, simulator {u.Machine.Simulator / u.Machine.Total:P0}, harness {u.Machine.Harness / u.Machine.Total:P0}, idle {1 - u.Machine.Busy / u.Machine.Total:P0} of {Environment.ProcessorCount} cores");
        }
        await CollectViolationsAsync(s, label);
        return (rate, JsonSerializerNode(new { drained, active, seconds = Math.Round(seconds, 2), ops_per_second = Math.Round(rate, 1), accept = load.Summary(), machine, top_statements = await TopStatementsAsync() }));
    }

    // S4: commit → device call start with LISTEN/NOTIFY and with polling only; accept throughput with NOTIFY in every tx.
    private async Task S4Async(Stack s)
    {
        var modes = new JsonObject();
        foreach (var listen in new[] { true, false })
        {
            var mode = listen ? "notify" : "polling";
            var net = await FreshAsync(s, 0, 2, listen);
            // Fresh workers compile their hot paths on the first creates (before this warm-up, the five slowest of 300
            // were creates #5–#15, 100–390 ms): start-up, not wake-up latency. They are sent and settled first.
            _progress.Phase($"{s.Design}: S4 wake-up latency ({mode}), warm-up: {o.S4Warmup} single creates 25 ms apart (not measured)");
            await Load.TrickleAsync(s, net, o.S4Warmup, TimeSpan.FromMilliseconds(25), _progress);
            await s.WaitSettledAsync(TimeSpan.FromSeconds(30));
            _progress.Done();
            _progress.Phase($"{s.Design}: S4 wake-up latency ({mode}), {o.S4Count} single creates 25 ms apart");
            var load = await Load.TrickleAsync(s, net, o.S4Count, TimeSpan.FromMilliseconds(25), _progress);
            await s.WaitSettledAsync(TimeSpan.FromSeconds(30));
            var calls = await s.Admin.GetFromJsonAsync<JsonObject>(s.Simulator.Url + "/_sim/calls");
            var starts = calls!["items"]!.AsArray()
                .Where(c => c!["method"]!.GetValue<string>() == "POST" && c["collection"]!.GetValue<string>() == "ports")
                .GroupBy(c => c!["resource_id"]!.GetValue<string>())
                .ToDictionary(g => g.Key, g => g.Min(c => DateTimeOffset.Parse(c!["started_at"]!.GetValue<string>())));
            var inOrder = load.Created.Where(c => starts.ContainsKey(c.Id)).Select(c => (starts[c.Id] - c.RespondedAt).TotalMilliseconds).ToArray();
            var lat = inOrder.Order().ToArray();
            // Where the tail sits in the sequence (start-up or spread through the run) tells what causes it.
            var slowest = inOrder.Select((ms, i) => new { index = i, ms = Math.Round(ms, 1) }).OrderByDescending(x => x.ms).Take(5).ToList();
            _progress.Done();
            var p50 = Pct(lat, 50); var p99 = Pct(lat, 99);
            Console.WriteLine($"  {mode}: p50 {p50:F2} ms p99 {p99:F2} ms over {lat.Length} creates; slowest (create #: ms) {string.Join(", ", slowest.Select(x => $"{x.index}: {x.ms}"))}");
            modes[mode] = JsonSerializerNode(new { warmup_creates = o.S4Warmup, samples = lat.Length, p50_ms = Math.Round(p50, 2), p99_ms = Math.Round(p99, 2), max_ms = Math.Round(lat.LastOrDefault(), 2), min_ms = Math.Round(lat.FirstOrDefault(), 2), slowest });
            await CollectViolationsAsync(s, $"S4/{mode}");
        }

        // Accept throughput: the chosen design (NOTIFY sent after commit, debounced) vs the same plus a trigger that
        // NOTIFYs inside every accept transaction. Rounds alternate A B B A …, so load from anything else on the
        // machine falls on both variants alike; the medians of the rounds and their ratio are reported.
        var rounds = new Dictionary<bool, List<LoadResult>> { [false] = [], [true] = [] };
        for (var round = 0; round < o.S4Rounds; round++)
        {
            foreach (var inTx in round % 2 == 0 ? new[] { false, true } : new[] { true, false })
            {
                var net = await FreshAsync(s, 0, 2);
                if (inTx)
                {
                    await pg.ExecAsync("""
                        create or replace function bench_notify_in_tx() returns trigger language plpgsql as $$
                        begin perform pg_notify('outbox_wakeup', ''); return null; end $$;
                        create trigger bench_notify_in_tx after insert on outbox_entries for each row execute function bench_notify_in_tx();
                        """);
                }
                _progress.Phase($"{s.Design}: S4 accept throughput round {round + 1}/{o.S4Rounds}, NOTIFY {(inTx ? "inside every accept transaction" : "after commit (chosen)")}, {o.LoadClients} clients");
                var r = await Load.ChurnAsync(s, net, o.LoadClients, o.SyncDuration, o.ClientTimeout, createOnly: true, _progress);
                _progress.Done();
                if (inTx) await pg.ExecAsync("drop trigger bench_notify_in_tx on outbox_entries; drop function bench_notify_in_tx()");
                Console.WriteLine($"  {(inTx ? "NOTIFY in tx" : "chosen")}: {r.RequestsPerSecond:F1} req/s, p99 {r.P(99):F1} ms");
                rounds[inTx].Add(r);
                await s.WaitDrainedAsync(TimeSpan.FromSeconds(60));
                await CollectViolationsAsync(s, "S4/accept");
            }
        }
        foreach (var (inTx, list) in rounds)
        {
            var median = list.OrderBy(r => r.RequestsPerSecond).ElementAt(list.Count / 2);
            var node = JsonSerializerNode(median.Summary()).AsObject();
            node["rounds_requests_per_second"] = new JsonArray(list.Select(r => (JsonNode)Math.Round(r.RequestsPerSecond, 1)).ToArray());
            modes[inTx ? "accept_notify_in_tx" : "accept_chosen"] = node;
        }
        var chosenMedian = rounds[false].Select(r => r.RequestsPerSecond).Order().ElementAt(rounds[false].Count / 2);
        var inTxMedian = rounds[true].Select(r => r.RequestsPerSecond).Order().ElementAt(rounds[true].Count / 2);
        modes["accept_ratio_chosen_to_notify_in_tx"] = inTxMedian > 0 ? Math.Round(chosenMedian / inTxMedian, 3) : null;
        Console.WriteLine($"  accept req/s medians over {o.S4Rounds} rounds: chosen {chosenMedian:F1}, NOTIFY in tx {inTxMedian:F1}, ratio {(inTxMedian > 0 ? chosenMedian / inTxMedian : 0):F3}");
        results.Add("S4", s.Design, modes);
    }

    // S5: many concurrent updates of one port.
    private async Task S5Async(Stack s)
    {
        _progress.Phase($"{s.Design}: S5 hot resource, {o.S5Updates} concurrent updates of one port, device latency {o.S5LatencyMs} ms");
        var net = await FreshAsync(s, o.S5LatencyMs, 2);
        using var c = s.NewClient(TimeSpan.FromSeconds(30));
        var created = await c.PostAsJsonAsync("/v2.0/ports", new { port = new { network_id = net, name = "hot" } });
        var id = JsonNode.Parse(await created.Content.ReadAsStringAsync())!["port"]!["id"]!.GetValue<string>();
        await s.WaitDrainedAsync(TimeSpan.FromSeconds(60));
        var r = await Load.HotAsync(s, id, o.S5Updates, _progress);
        var drained = await s.WaitSettledAsync(TimeSpan.FromSeconds(o.Smoke ? 60 : 300));
        _progress.Done();
        var table = s.Design == Designs.OutboxSync ? "ports" : "baseline.ports";
        var revColumn = s.Design == Designs.OutboxSync ? "revision_number" : "revision";
        string dbName; long dbRev;
        await using (var conn = new NpgsqlConnection(pg.ConnectionString(pool: 2)))
        {
            await conn.OpenAsync();
            await using var cmd = new NpgsqlCommand($"select name, {revColumn} from {table} where id = '{id}'", conn);
            await using var rd = await cmd.ExecuteReaderAsync();
            await rd.ReadAsync();
            dbName = rd.GetString(0); dbRev = rd.GetInt64(1);
        }
        var device = await s.Admin.GetFromJsonAsync<JsonObject>($"{s.Simulator.Url}/v1/ports/{id}");
        var devName = device?["attributes"]?["name"]?.GetValue<string>();
        var devRev = device?["revision"]?.GetValue<long>();
        var calls = (await s.Admin.GetFromJsonAsync<JsonObject>($"{s.Simulator.Url}/_sim/calls?resource_id={id}"))!["items"]!.AsArray()
            .Count(x => x!["method"]!.GetValue<string>() == "PUT");
        var lastWins = devName == dbName && devRev == dbRev;
        Console.WriteLine($"  {calls} device updates for {r.Ok} accepted; db ({dbName}, r{dbRev}) device ({devName}, r{devRev}) last write wins: {lastWins}; API p99 {r.P(99):F1} ms");
        results.Add("S5", s.Design, new { accepted = r.Ok, errors = r.Errors, device_update_calls = calls, drained, db_name = dbName, db_revision = dbRev, device_name = devName, device_revision = devRev, last_write_wins = lastWins, api = r.Summary() });
        await CollectViolationsAsync(s, "S5");
    }

    // S8: S3's rate with finished history and live resources retained.
    private async Task S8Async(Stack s)
    {
        var rows = new JsonObject();
        foreach (var finished in o.S8Finished)
        {
            _progress.Phase($"{s.Design}: S8 growth, {finished:N0} finished outbox entries and {o.S8Live:N0} live ports retained");
            await s.StopWorkersAsync();
            await s.ResetAsync(0);
            // Retained history and live resources go in before the run; the run itself then adds its own rows.
            await pg.ExecAsync($"""
                insert into networks (id, project_id, name, status, revision_number, applied_revision, created_at, updated_at)
                values ('00000000-0000-0000-0000-00000000b8b8', 'bench', 'live', 'ACTIVE', 1, 1, now(), now());
                insert into ports (id, project_id, name, status, revision_number, applied_revision, created_at, updated_at, network_id, mac_address)
                select gen_random_uuid(), 'bench', 'live-' || i, 'ACTIVE', 1, 1, now(), now(), '00000000-0000-0000-0000-00000000b8b8',
                       'fa:17:' || substr(md5(i::text), 1, 2) || ':' || substr(md5(i::text), 3, 2) || ':' || substr(md5(i::text), 5, 2) || ':' || lpad(to_hex(i % 256), 2, '0')
                from generate_series(1, {o.S8Live}) i on conflict do nothing;
                insert into outbox_entries (resource_type, resource_id, operation, revision, payload, project_id, state, created_at, completed_at)
                select 'port', gen_random_uuid(), 'update', 2, '{"{"}"name": "old"{"}"}'::jsonb, 'bench', 'done', now() - interval '1 day', now() - interval '1 day'
                from generate_series(1, {finished});
                """);
            await pg.ExecAsync("vacuum analyze ports");
            await pg.ExecAsync("vacuum analyze outbox_entries");
            var e2e = await EndToEndWithoutResetAsync(s, $"S8/{finished}");
            rows[finished.ToString()] = JsonSerializerNode(new { finished_entries = finished, live_ports = o.S8Live, rate = Math.Round(e2e.Rate, 1), run = e2e.Json });
        }
        var rates = rows.Select(kv => kv.Value!["rate"]!.GetValue<double>()).ToArray();
        results.Add("S8", s.Design, new { sizes = rows, spread = rates.Length > 0 && rates.Max() > 0 ? Math.Round((rates.Max() - rates.Min()) / rates.Max(), 3) : 0 });
    }

    private async Task<(double Rate, JsonNode Json)> EndToEndWithoutResetAsync(Stack s, string label)
    {
        await s.SetLatencyAsync(0);
        await s.StartWorkersAsync(2);
        var net = await s.CreateNetworkAsync();
        await s.WaitDrainedAsync(TimeSpan.FromSeconds(30));
        var sw = Stopwatch.StartNew();
        var load = await Load.BatchAsync(s, net, o.LoadClients, o.S3Ports, 1, o.ClientTimeout, _progress);
        var drained = await s.WaitDrainedAsync(o.DrainTimeout, p => _progress.Report($"{p} pending"));
        var seconds = sw.Elapsed.TotalSeconds;
        var active = await pg.ScalarAsync<long>($"select count(*) from ports where status = 'ACTIVE' and network_id = '{net}'");
        _progress.Done();
        var rate = active / seconds;
        Console.WriteLine($"  {active} ports ACTIVE in {seconds:F2} s = {rate:F1} ops/s");
        await CollectViolationsAsync(s, label);
        return (rate, JsonSerializerNode(new { drained, active, seconds = Math.Round(seconds, 2), accept = load.Summary(), top_statements = await TopStatementsAsync() }));
    }

    private sealed record Snap(List<(string Name, double Rss, double Cpu)> Procs);

    private static Snap Snapshot(Stack s) =>
        new([.. new[] { s.Front }.Concat(s.Workers).Select(p => { var (rss, cpu) = p.Sample(); return (p.Name, rss, cpu); })]);

    private static object Footprint(Snap before, Snap after, long ops, long apiOps)
    {
        var api = after.Procs[0];
        var apiCpu = api.Cpu - before.Procs[0].Cpu;
        var workers = after.Procs.Skip(1).ToList();
        var workerCpu = workers.Sum(w => w.Cpu - (before.Procs.FirstOrDefault(b => b.Name == w.Name).Cpu));
        return new
        {
            api_peak_rss_mib = Math.Round(api.Rss, 1),
            api_cpu_s = Math.Round(apiCpu, 2),
            api_cpu_s_per_1000_ops = apiOps > 0 ? Math.Round(apiCpu * 1000 / apiOps, 3) : 0,
            worker_peak_rss_mib = workers.Count > 0 ? Math.Round(workers.Max(w => w.Rss), 1) : 0,
            workers_cpu_s = Math.Round(workerCpu, 2),
            worker_cpu_s_per_1000_ops = ops > 0 && workers.Count > 0 ? Math.Round(workerCpu * 1000 / ops, 3) : 0,
        };
    }

    /// <summary>The five statements with the most execution time (or, with <paramref name="byCalls"/>, the ten run most
    /// often) since the last reset, then resets the counters.</summary>
    private async Task<JsonNode> TopStatementsAsync(bool byCalls = false)
    {
        var list = new JsonArray();
        await using var conn = new NpgsqlConnection(pg.ConnectionString(pool: 2));
        await conn.OpenAsync();
        await using var cmd = new NpgsqlCommand($$"""
            select left(regexp_replace(query, '\s+', ' ', 'g'), 140), calls, round(total_exec_time::numeric, 1), round(mean_exec_time::numeric, 3)
            from pg_stat_statements where dbid = (select oid from pg_database where datname = current_database())
            order by {{(byCalls ? "calls desc limit 10" : "total_exec_time desc limit 5")}}
            """, conn);
        await using var r = await cmd.ExecuteReaderAsync();
        while (await r.ReadAsync())
            list.Add(new JsonObject { ["query"] = r.GetString(0), ["calls"] = r.GetInt64(1), ["total_ms"] = r.GetDecimal(2), ["mean_ms"] = r.GetDecimal(3) });
        await using var reset = new NpgsqlCommand("select pg_stat_statements_reset()", conn);
        await r.CloseAsync();
        await reset.ExecuteNonQueryAsync();
        return list;
    }

    private static double Pct(double[] sorted, double p) =>
        sorted.Length == 0 ? 0 : sorted[Math.Clamp((int)Math.Ceiling(p / 100 * sorted.Length) - 1, 0, sorted.Length - 1)];

    private static JsonNode JsonSerializerNode(object o) => System.Text.Json.JsonSerializer.SerializeToNode(o)!;
}

/// <summary>
/// Samples pg_stat_activity every 20 ms for the oldest open transaction of any client backend (S6), kept apart for
/// the system's own transactions and for Quartz.NET's scheduler (sessions named "… quartz"), whose clustered
/// start-up waits on its row lock inside a transaction and says nothing about holding transactions across device calls.
/// </summary>
public sealed class TxSampler : IAsyncDisposable
{
    public sealed record Longest(double Seconds, string Query);
    public sealed record Holds(Longest System, Longest Scheduler);
    private readonly CancellationTokenSource _stop = new();
    private Task<Holds> _run = null!;

    public static async Task<TxSampler> StartAsync(Postgres pg)
    {
        var conn = new NpgsqlConnection(pg.ConnectionString(pool: 2) + ";Application Name=bench-sampler");
        await conn.OpenAsync();
        var s = new TxSampler();
        s._run = Task.Run(async () =>
        {
            var system = new Longest(0, "");
            var scheduler = new Longest(0, "");
            await using (conn)
            {
                await using var cmd = new NpgsqlCommand("""
                    select extract(epoch from clock_timestamp() - xact_start)::float8, left(query, 120), application_name like '% quartz' or query ilike '%qrtz\_%'
                    from pg_stat_activity
                    where backend_type = 'client backend' and xact_start is not null and pid <> pg_backend_pid()
                      and datname = current_database() and state <> 'idle'
                    order by xact_start
                    """, conn);
                while (!s._stop.IsCancellationRequested)
                {
                    await using (var r = await cmd.ExecuteReaderAsync())
                    {
                        while (await r.ReadAsync())
                        {
                            var held = new Longest(r.GetDouble(0), r.GetString(1));
                            if (r.GetBoolean(2)) { if (held.Seconds > scheduler.Seconds) scheduler = held; }
                            else if (held.Seconds > system.Seconds) system = held;
                        }
                    }
                    try { await Task.Delay(20, s._stop.Token); } catch (OperationCanceledException) { }
                }
            }
            return new Holds(system, scheduler);
        });
        return s;
    }

    public async Task<Holds> StopAsync()
    {
        _stop.Cancel();
        return await _run;
    }

    public async ValueTask DisposeAsync()
    {
        _stop.Cancel();
        try { await _run; } catch (Exception) { }
    }
}
