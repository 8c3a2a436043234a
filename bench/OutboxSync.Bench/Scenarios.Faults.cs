using System.Diagnostics;
using System.Net.Http.Json;
using System.Text.Json.Nodes;

namespace OutboxSync.Bench;

/// <summary>
/// S10, a holder killed and a holder paused (the chaos run's SIGKILL and SIGSTOP-longer-than-a-lease, at a small size),
/// for the designs that hold a per-resource lock across the device call: the 2014 lock table in both readings, and
/// OutboxSync's lease. Device calls take 2 s so every holder is caught mid-call.
/// </summary>
public sealed partial class Scenarios
{
    private const int S10Ports = 20;
    private const int S10LatencyMs = 2000;
    private static readonly TimeSpan S10LockWait = TimeSpan.FromSeconds(3);

    private static bool HasS10(string design) => design is Designs.OutboxSync or "lock-table-unique" or "lock-table";

    private async Task S10Async(Stack s)
    {
        _progress.Phase($"{s.Design}: S10 a holder killed, then a holder paused, device {S10LatencyMs} ms, {S10Ports} ports each");
        // Each path resets the simulator first, so its counters are S10's own.
        var result = s.Design == Designs.OutboxSync ? await S10LeasesAsync(s) : await S10LockTableAsync(s);
        result["violations"] = JsonSerializerNode(await s.ViolationsAsync());
        _progress.Done();
        Console.WriteLine($"  S10: {result.ToJsonString()}");
        results.Add("S10", s.Design, result);
        await CollectViolationsAsync(s, "S10");
    }

    private async Task<JsonObject> S10LockTableAsync(Stack s)
    {
        var table = s.Design == "lock-table-unique" ? "baseline.cross_server_locks_unique" : "baseline.cross_server_locks";
        await s.ResetAsync(0);
        var net = await s.CreateNetworkAsync();
        // A second API process of the same design, the one that carries on when the first is killed or paused.
        await using var other = await s.StartBaselineApiAsync("baseline-api-b", ["--lockWaitMs", ((int)S10LockWait.TotalMilliseconds).ToString()]);
        var victims = await Task.WhenAll(Enumerable.Range(0, S10Ports).Select(i => s.CreatePortAsync(net, $"s10-crash-{i}")));
        var paused = await Task.WhenAll(Enumerable.Range(0, S10Ports).Select(i => s.CreatePortAsync(net, $"s10-pause-{i}")));
        await s.SetLatencyAsync(S10LatencyMs);

        // Killed mid-call: its locks stay, and nothing expires them.
        var crashStart = await OutcomesAsync(s);
        var front = s.Front;
        var inFlight = victims.Select(id => UpdateAsync(front.Url!, s.Token, id, "by-a")).ToList();
        var held = await WaitForAsync(() => pg.ScalarAsync<long>($"select count(*) from {table}"), n => n >= S10Ports, TimeSpan.FromSeconds(10));
        var killedAt = Stopwatch.StartNew();
        await Signal(front, "KILL");
        await Task.WhenAll(inFlight);
        var afterKill = await Task.WhenAll(victims.Select(id => UpdateAsync(other.Url!, s.Token, id, "by-b")));
        var crashOutcomes = Since(await OutcomesAsync(s), crashStart);
        await s.RestartFrontAsync();
        var pauseStart = await OutcomesAsync(s);

        // Paused mid-call for longer than the other process waits for a lock.
        var pausedFront = s.Front;
        var beforePause = paused.Select(id => UpdateAsync(pausedFront.Url!, s.Token, id, "by-a")).ToList();
        await WaitForAsync(() => pg.ScalarAsync<long>($"select count(*) from {table} where lock_name like 'port:%' and holder like '%:{pausedFront.Pid}'"),
            n => n >= S10Ports, TimeSpan.FromSeconds(10));
        await Signal(pausedFront, "STOP");
        var duringPause = await Task.WhenAll(paused.Select(id => UpdateAsync(other.Url!, s.Token, id, "by-b")));
        var pausedFor = S10LockWait + TimeSpan.FromSeconds(2);
        await Task.Delay(pausedFor - S10LockWait);
        await Signal(pausedFront, "CONT");
        var resumed = await Task.WhenAll(beforePause);
        await s.WaitSettledAsync(TimeSpan.FromSeconds(30));
        var pauseOutcomes = Since(await OutcomesAsync(s), pauseStart);
        var stuck = await pg.ScalarAsync<long>($"select count(*) from {table} where lock_name = any(array[{string.Join(",", victims.Select(v => $"'port:{v}'"))}])");
        var heldSeconds = killedAt.Elapsed.TotalSeconds;
        await s.SetLatencyAsync(0);
        return new JsonObject
        {
            ["crash"] = new JsonObject
            {
                ["locks_held_when_killed"] = held,
                ["other_process_answers"] = Answers(afterKill),
                ["locks_left_at_end"] = stuck,
                ["seconds_since_kill_at_end"] = Math.Round(heldSeconds, 1),
                ["note"] = "nothing expires a lock: each stays until an operator deletes its row",
                ["device_call_outcomes"] = crashOutcomes,
            },
            ["pause"] = new JsonObject
            {
                ["paused_seconds"] = pausedFor.TotalSeconds,
                ["other_process_answers_during_pause"] = Answers(duringPause),
                ["paused_holder_answers_after_resume"] = Answers(resumed),
                ["device_call_outcomes"] = pauseOutcomes,
            },
        };
    }

    private async Task<JsonObject> S10LeasesAsync(Stack s)
    {
        var net = await FreshAsync(s, 0, 2);
        var victims = await Task.WhenAll(Enumerable.Range(0, S10Ports).Select(i => s.CreatePortAsync(net, $"s10-crash-{i}")));
        var paused = await Task.WhenAll(Enumerable.Range(0, S10Ports).Select(i => s.CreatePortAsync(net, $"s10-pause-{i}")));
        await s.WaitDrainedAsync(TimeSpan.FromSeconds(60));
        await s.SetLatencyAsync(S10LatencyMs);
        const double leaseSeconds = 15; // Leases:Duration as shipped (the bench's workers run with the shipped settings)

        // Killed mid-call: its leases expire on the database clock and the other replica takes the resources over.
        var crashStart = await OutcomesAsync(s);
        await Task.WhenAll(victims.Select(id => UpdateAsync(s.Front.Url!, s.Token, id, "by-a")));
        var (killed, held) = await BusiestWorkerAsync(s, victims);
        var killedAt = Stopwatch.StartNew();
        await Signal(killed, "KILL");
        var drained = await s.WaitDrainedAsync(TimeSpan.FromSeconds(90));
        var takeover = killedAt.Elapsed.TotalSeconds;
        await s.WaitSettledAsync(TimeSpan.FromSeconds(30));
        var crashOutcomes = Since(await OutcomesAsync(s), crashStart);
        s.Workers.Remove(killed);
        await killed.DisposeAsync();
        await s.StartWorkersAsync(2);

        // Paused mid-call for longer than its lease: the other replica takes over; the paused one's late calls carry
        // a passed deadline and an old fencing token.
        var pauseStart = await OutcomesAsync(s);
        await Task.WhenAll(paused.Select(id => UpdateAsync(s.Front.Url!, s.Token, id, "by-a")));
        var (stopped, pausedHeld) = await BusiestWorkerAsync(s, paused);
        var pausedTokens = (await pg.ScalarAsync<string>(
            $"select coalesce(string_agg(token::text, ','), '') from resource_leases where holder like '%bench-{stopped.Name}%' and expires_at > now()"))
            .Split(',', StringSplitOptions.RemoveEmptyEntries).Select(long.Parse).ToHashSet();
        // Caught mid-call: its calls (2 s each) are at the back end when it stops.
        await WaitForAsync(() => InFlightAsync(s), n => n > 0, TimeSpan.FromSeconds(5));
        var pausedFor = TimeSpan.FromSeconds(leaseSeconds + 5);
        await Signal(stopped, "STOP");
        await Task.Delay(pausedFor);
        await Signal(stopped, "CONT");
        var pausedDrained = await s.WaitDrainedAsync(TimeSpan.FromSeconds(90));
        await s.WaitSettledAsync(TimeSpan.FromSeconds(30));
        var live = await pg.ScalarAsync<long>("select count(*) from resource_leases where expires_at > now()");
        var pauseOutcomes = Since(await OutcomesAsync(s), pauseStart);
        var pausedCalls = await CallsWithTokensAsync(s, pausedTokens);
        await s.SetLatencyAsync(0);
        await s.StopWorkersAsync();
        return new JsonObject
        {
            ["crash"] = new JsonObject
            {
                ["leases_held_when_killed"] = held,
                ["drained"] = drained,
                ["seconds_from_kill_to_all_applied"] = Math.Round(takeover, 1),
                ["lease_seconds"] = leaseSeconds,
                ["device_call_outcomes"] = crashOutcomes,
            },
            ["pause"] = new JsonObject
            {
                ["leases_held_when_paused"] = pausedHeld,
                ["paused_seconds"] = pausedFor.TotalSeconds,
                ["drained"] = pausedDrained,
                ["live_leases_at_end"] = live,
                // Every call made under the paused replica's leases, before the pause and after it resumed.
                ["paused_holder_leases"] = pausedTokens.Count,
                ["paused_holder_calls_by_outcome"] = pausedCalls,
                ["device_call_outcomes"] = pauseOutcomes,
            },
        };
    }

    /// <summary>The worker that holds the most leases on <paramref name="ids"/> once it holds at least one, and how many.</summary>
    private async Task<(Service Worker, long Held)> BusiestWorkerAsync(Stack s, IEnumerable<string> ids)
    {
        var list = string.Join(",", ids.Select(id => $"'{id}'"));
        var sql = $"select coalesce((select holder || '|' || count(*) from resource_leases where resource_id in ({list}) and expires_at > now() group by holder order by count(*) desc limit 1), '')";
        var top = await WaitForAsync(() => pg.ScalarAsync<string>(sql), t => t.Length > 0, TimeSpan.FromSeconds(30));
        var (holder, count) = (top.Split('|')[0], long.Parse(top.Split('|')[1]));
        var worker = s.Workers.FirstOrDefault(w => holder.Contains($"bench-{w.Name}", StringComparison.Ordinal))
            ?? throw new InvalidOperationException($"no worker process for lease holder '{holder}'");
        return (worker, count);
    }

    private static async Task<T> WaitForAsync<T>(Func<Task<T>> read, Func<T, bool> done, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            var value = await read();
            if (done(value) || DateTime.UtcNow > deadline) return value;
            await Task.Delay(20);
        }
    }

    private static async Task Signal(Service process, string signal)
    {
        using var kill = Process.Start("kill", $"-{signal} {process.Pid}")!;
        await kill.WaitForExitAsync();
    }

    /// <summary>A rename through the API at <paramref name="url"/>; the answer's status, or 0 when the connection failed.</summary>
    private static async Task<int> UpdateAsync(string url, string token, string id, string name)
    {
        using var c = new HttpClient { BaseAddress = new Uri(url), Timeout = TimeSpan.FromSeconds(60) };
        c.DefaultRequestHeaders.Add("X-Auth-Token", token);
        try
        {
            using var resp = await c.PutAsJsonAsync($"/v2.0/ports/{id}", new { port = new { name } });
            return (int)resp.StatusCode;
        }
        catch (HttpRequestException)
        {
            return 0;
        }
        catch (TaskCanceledException)
        {
            return 0;
        }
    }

    /// <summary>The simulator's logged calls made with any of <paramref name="tokens"/> (one holder's leases), by outcome.</summary>
    private static async Task<JsonObject> CallsWithTokensAsync(Stack s, HashSet<long> tokens)
    {
        var log = await s.Admin.GetFromJsonAsync<JsonObject>($"{s.Simulator.Url}/_sim/calls");
        var mine = log!["items"]!.AsArray()
            .Where(c => c!["fencing_token"] is JsonValue t && t.TryGetValue(out long token) && tokens.Contains(token))
            .GroupBy(c => c!["outcome"]?.ToString() ?? "?");
        return new JsonObject(mine.Select(g => KeyValuePair.Create(g.Key, (JsonNode?)g.Count())));
    }

    private static async Task<long> InFlightAsync(Stack s) =>
        (await s.Admin.GetFromJsonAsync<JsonObject>($"{s.Simulator.Url}/_sim/stats"))?["in_flight"]?.GetValue<long>() ?? 0;

    /// <summary>The simulator's count of finished mutating calls by outcome (applied, replayed, aborted, …).</summary>
    private static async Task<Dictionary<string, long>> OutcomesAsync(Stack s)
    {
        var stats = await s.Admin.GetFromJsonAsync<JsonObject>($"{s.Simulator.Url}/_sim/stats");
        return stats?["outcomes"]?.AsObject().ToDictionary(kv => kv.Key, kv => kv.Value!.GetValue<long>()) ?? [];
    }

    private static JsonObject Since(Dictionary<string, long> now, Dictionary<string, long> before) =>
        new(now.Select(kv => KeyValuePair.Create(kv.Key, kv.Value - before.GetValueOrDefault(kv.Key)))
            .Where(kv => kv.Value != 0).Select(kv => KeyValuePair.Create(kv.Key, (JsonNode?)kv.Value)));

    private static JsonObject Answers(IEnumerable<int> statuses) =>
        new(statuses.GroupBy(x => x == 0 ? "connection_failed" : x.ToString()).OrderBy(g => g.Key)
            .Select(g => KeyValuePair.Create(g.Key, (JsonNode?)g.Count())));
}
