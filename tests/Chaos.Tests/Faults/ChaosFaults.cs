using System.Diagnostics;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Npgsql;
using OutboxSync.Chaos.Tests.Stack;

namespace OutboxSync.Chaos.Tests.Faults;

/// <summary>
/// The fault schedule, run while the workload runs. Throughout: the simulator's transient faults (about a fifth
/// of calls fail, reset or hang), a random worker SIGKILLed and restarted every few seconds, random worker
/// sessions ended with pg_terminate_backend. Once each, at fixed points of the phase: a full simulator outage,
/// a fast PostgreSQL restart, and one worker SIGSTOPped for longer than its lease. The delays here are the
/// faults' own timing (how long an outage lasts, when the next kill comes), not waits for a condition.
/// </summary>
public sealed class ChaosFaults(ChaosStack stack, ChaosSettings settings, Action<string> log)
{
    /// <summary>Injected on every back-end call during the phase: ~12% 503, ~5% 503 after applying, ~2% resets,
    /// ~2% hangs longer than the workers' attempt timeout, i.e. about 21% of calls fail transiently.</summary>
    public static readonly object TransientFaults = new
    {
        latency_min_ms = 2,
        latency_max_ms = 40,
        failure_rate = 0.12,
        failure_after_apply_rate = 0.05,
        reset_rate = 0.02,
        hang_rate = 0.02,
        hang_ms = ChaosSettings.HangMilliseconds,
        outage = false,
    };

    public static readonly object NoFaults = new
    {
        latency_min_ms = 1,
        latency_max_ms = 5,
        failure_rate = 0.0,
        failure_after_apply_rate = 0.0,
        reset_rate = 0.0,
        hang_rate = 0.0,
        outage = false,
    };

    private readonly long _started = Stopwatch.GetTimestamp();
    private string? _lastUnanswered;

    public FaultReport Report { get; } = new();

    private TimeSpan Elapsed => Stopwatch.GetElapsedTime(_started);

    /// <summary>Runs the schedule until the phase is over and <paramref name="workload"/> has finished, then stops
    /// every fault and waits for restarted workers.</summary>
    public async Task RunAsync(Task workload)
    {
        await stack.Simulator.SetFaultsAsync(TransientFaults);
        using var stop = new CancellationTokenSource();
        var random = new Random(settings.Seed);
        var loops = Task.WhenAll(
            KillLoopAsync(new Random(random.Next()), stop.Token),
            TerminateLoopAsync(new Random(random.Next()), stop.Token));
        try
        {
            await OneShotsAsync(new Random(random.Next()));
            await Task.WhenAny(workload);
            var rest = settings.FaultPhase - Elapsed;
            if (rest > TimeSpan.Zero)
            {
                await Task.Delay(rest);
            }
        }
        finally
        {
            await stop.CancelAsync();
            await loops;
            Report.Phase = Elapsed;
            Report.SimulatorStatsAtPhaseEnd = await stack.Simulator.Admin.GetFromJsonAsync<JsonObject>("_sim/stats");
            await stack.Simulator.SetFaultsAsync(NoFaults);
            await stack.Workers.WhenRestartedAsync();
            await stack.Workers.RestartUnexpectedExitsAsync();
            await stack.Workers.WhenRestartedAsync();
            log($"faults stopped after {Report.Phase.TotalSeconds:F0} s");
        }
    }

    private async Task OneShotsAsync(Random random)
    {
        var phase = settings.FaultPhase;
        await UntilAsync(phase * 0.2);
        await OutageAsync();
        await UntilAsync(phase * 0.45);
        await RestartPostgresAsync();
        await UntilAsync(phase * 0.6);
        await PauseWorkerAsync(random);
    }

    private async Task UntilAsync(TimeSpan at)
    {
        var wait = at - Elapsed;
        if (wait > TimeSpan.Zero)
        {
            await Task.Delay(wait);
        }
    }

    private async Task OutageAsync()
    {
        Report.OutageAt = Elapsed;
        await stack.Simulator.SetFaultsAsync(new { outage = true });
        log($"{Elapsed.TotalSeconds:F0} s: simulator outage on");
        await Task.Delay(ChaosSettings.OutageDuration);
        await stack.Simulator.SetFaultsAsync(new { outage = false });
        Report.OutageLasted = Elapsed - Report.OutageAt;
        log($"{Elapsed.TotalSeconds:F0} s: simulator outage off");
    }

    private async Task RestartPostgresAsync()
    {
        Report.RestartAt = Elapsed;
        await stack.Server.RestartAsync();
        Report.RestartTook = Elapsed - Report.RestartAt;
        log($"{Elapsed.TotalSeconds:F0} s: PostgreSQL restarted (-m fast) in {Report.RestartTook.Value.TotalSeconds:F1} s");
        var restarted = Elapsed;
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        await Eventually.WaitAsync(() => EveryServiceAnswersAsync(http), ok => ok, TimeSpan.FromSeconds(120),
            "both APIs and every running worker to answer from the database after the restart");
        Report.RecoveredAfterRestart = Elapsed - restarted;
        log($"{Elapsed.TotalSeconds:F0} s: APIs and workers answer again (the last to recover: {_lastUnanswered ?? "none"})");
    }

    /// <summary>Both APIs list networks (a database read) and every running worker reports ready (database reachable).</summary>
    private async Task<bool> EveryServiceAnswersAsync(HttpClient http)
    {
        var urls = new List<string>
        {
            stack.DirectApi.Url + "/v2.0/networks?limit=1",
            stack.BouncedApi.Url + "/v2.0/networks?limit=1",
        };
        urls.AddRange(stack.Workers.Slots.Select(s => s.Current).Where(p => p is { HasExited: false }).Select(p => p!.Url + "/health/ready"));
        foreach (var url in urls)
        {
            try
            {
                using var request = new HttpRequestMessage(HttpMethod.Get, url);
                request.Headers.Add("X-Auth-Token", ChaosStack.Token);
                using var response = await http.SendAsync(request);
                if (!response.IsSuccessStatusCode)
                {
                    _lastUnanswered = $"{url}: {(int)response.StatusCode}";
                    return false;
                }
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
            {
                // A worker being killed right now, or not up yet.
                _lastUnanswered = $"{url}: {e.GetType().Name}";
                return false;
            }
        }
        return true;
    }

    private async Task PauseWorkerAsync(Random random)
    {
        WorkerSlot? slot = null;
        await Eventually.WaitAsync(async () =>
        {
            foreach (var candidate in stack.Workers.Slots.OrderBy(_ => random.Next()))
            {
                if (await candidate.Gate.WaitAsync(0))
                {
                    if (candidate.Current is { HasExited: false })
                    {
                        slot = candidate;
                        return true;
                    }
                    candidate.Gate.Release();
                }
            }
            return false;
        }, ok => ok, TimeSpan.FromSeconds(120), "a worker free to pause");
        try
        {
            var process = slot!.Current!;
            var instance = slot.InstanceId;
            // Stopped while holding nothing, the pause would prove nothing: stop it at a moment it holds leases, and
            // preferably one it is still working under (not only leases it already left to run out for a call in doubt).
            var held = new Dictionary<Guid, long>();
            var stoppedAt = DateTimeOffset.UtcNow;
            for (var attempt = 1; ; attempt++)
            {
                await Eventually.WaitAsync(async () => (await HeldLeasesAsync(instance)).Count, n => n > 0, TimeSpan.FromSeconds(120),
                    $"{instance} to hold a lease");
                process.Signal(19);
                stoppedAt = DateTimeOffset.UtcNow;
                // Statements it sent just before it stopped still run (a release on the wire): let them land first.
                await SettleAsync(slot);
                held = await HeldLeasesAsync(instance);
                var working = held.Count(h => !LeaseLines(process, h.Key, h.Value, LeftInDoubt, 0));
                if (working > 0 || (held.Count > 0 && attempt >= 20))
                {
                    break;
                }
                if (attempt >= 20)
                {
                    throw new InvalidOperationException($"{instance} never held a lease at the moment it was stopped");
                }
                process.Signal(18);
            }
            log($"{Elapsed.TotalSeconds:F0} s: {instance} SIGSTOPped holding {held.Count} leases");
            // New work on each held resource makes another replica take its lease over once it runs out (a lease
            // taken after its holder's last step would otherwise wait for the next workload change, if any).
            var nudged = await NudgeAsync(held.Keys);
            log($"{Elapsed.TotalSeconds:F0} s: updated {nudged} of the {held.Count} held resources through the API");
            var rest = ChaosSettings.PauseDuration - (DateTimeOffset.UtcNow - stoppedAt);
            if (rest > TimeSpan.Zero)
            {
                await Task.Delay(rest);
            }
            var linesBefore = process.Output.Split('\n').Length;
            var resumedAt = DateTimeOffset.UtcNow;
            process.Signal(18);
            // Every lease it held must be accounted for: either it logs that it lost it (it noticed, and wrote
            // nothing), or it had already left it to run out for a call in doubt (it was not acting on it), or its
            // release was already on the wire when the process stopped and the database applied it while the lease
            // was live (the worker says "Released" only when the release found its own lease unexpired).
            bool Noticed(KeyValuePair<Guid, long> h) => LeaseLines(process, h.Key, h.Value, LostLease, linesBefore);
            bool LeftAlone(KeyValuePair<Guid, long> h) => LeaseLines(process, h.Key, h.Value, LeftInDoubt, 0);
            bool ReleasedInTime(KeyValuePair<Guid, long> h) => LeaseLines(process, h.Key, h.Value, Released, 0);
            LeaseFate Fate(KeyValuePair<Guid, long> h) =>
                Noticed(h) ? LeaseFate.Noticed : LeftAlone(h) ? LeaseFate.LeftInDoubt : ReleasedInTime(h) ? LeaseFate.ReleasedInTime : LeaseFate.Unaccounted;
            try
            {
                await Eventually.WaitAsync(() => Task.FromResult(held.Count(h => Fate(h) == LeaseFate.Unaccounted)), n => n == 0,
                    TimeSpan.FromSeconds(30), $"{instance} to log what became of its leases");
            }
            catch (TimeoutException)
            {
                // Reported (and failed) by the run's summary.
            }
            var fates = held.ToDictionary(h => h.Key, Fate);
            int Count(LeaseFate fate) => fates.Values.Count(f => f == fate);
            Report.Pause = new PauseRecord(instance, held, stoppedAt, resumedAt, Count(LeaseFate.Noticed), Count(LeaseFate.LeftInDoubt), Count(LeaseFate.ReleasedInTime));
            log($"{Elapsed.TotalSeconds:F0} s: {instance} SIGCONT after {(resumedAt - stoppedAt).TotalSeconds:F1} s; {Count(LeaseFate.Noticed)} lost-lease warnings, "
                + $"{Count(LeaseFate.LeftInDoubt)} left in doubt before the pause, {Count(LeaseFate.ReleasedInTime)} released in time"
                + string.Concat(held.Where(h => fates[h.Key] == LeaseFate.Unaccounted).Select(h => $"; unaccounted: {h.Key} token {h.Value}")));
        }
        finally
        {
            slot!.Gate.Release();
        }
    }

    private const string LostLease = "Lost the lease on resource";
    private const string LeftInDoubt = "Left the lease on resource";
    private const string Released = "Released the lease on resource";

    private enum LeaseFate { Noticed, LeftInDoubt, ReleasedInTime, Unaccounted }

    /// <summary>Whether the worker logged <paramref name="message"/> (the worker's DrainLog wording) for this lease
    /// after line <paramref name="skipLines"/>.</summary>
    private static bool LeaseLines(ServiceProcess process, Guid resourceId, long token, string message, int skipLines) =>
        process.Output.Split('\n').Skip(skipLines).Any(line => line.Contains($"{message} {resourceId} (token {token})", StringComparison.Ordinal));

    /// <summary>Waits (up to 3 s) until no statement of the stopped worker is still running at the database.</summary>
    private async Task SettleAsync(Stack.WorkerSlot slot)
    {
        try
        {
            await Eventually.WaitAsync(async () =>
            {
                await using var connection = stack.OpenProbe();
                await connection.OpenAsync();
                await using var cmd = new NpgsqlCommand("select count(*) from pg_stat_activity where application_name = @name and state = 'active'", connection);
                cmd.Parameters.AddWithValue("name", ChaosStack.WorkerApplicationName + "-" + slot.Number);
                return (long)(await cmd.ExecuteScalarAsync())!;
            }, n => n == 0, TimeSpan.FromSeconds(3), "the stopped worker's statements to finish");
        }
        catch (TimeoutException)
        {
            // A result larger than the socket buffer keeps its statement active until the worker reads it; the
            // release accounting below still tells a release in time from a lease silently dropped.
        }
    }

    /// <summary>Updates the description of each resource through the API; returns how many updates were accepted
    /// (one being deleted meanwhile answers 404 or 409, which is fine).</summary>
    private async Task<int> NudgeAsync(IEnumerable<Guid> resources)
    {
        using var http = new HttpClient { BaseAddress = new Uri(stack.DirectApi.Url!.TrimEnd('/') + "/v2.0/") };
        http.DefaultRequestHeaders.Add("X-Auth-Token", ChaosStack.Token);
        var accepted = 0;
        foreach (var id in resources)
        {
            await using var connection = stack.OpenProbe();
            await connection.OpenAsync();
            await using var cmd = new NpgsqlCommand("""
                select 'network' from networks where id = @id union all select 'subnet' from subnets where id = @id
                union all select 'port' from ports where id = @id union all select 'router' from routers where id = @id
                """, connection);
            cmd.Parameters.AddWithValue("id", id);
            if (await cmd.ExecuteScalarAsync() is not string type)
            {
                continue;
            }
            using var response = await http.PutAsJsonAsync($"{type}s/{id}", new JsonObject { [type] = new JsonObject { ["description"] = "updated during the pause" } });
            accepted += response.IsSuccessStatusCode ? 1 : 0;
        }
        return accepted;
    }

    private async Task<Dictionary<Guid, long>> HeldLeasesAsync(string holder)
    {
        await using var connection = stack.OpenProbe();
        await connection.OpenAsync();
        await using var cmd = new NpgsqlCommand("select resource_id, token from resource_leases where holder = @h and expires_at > now()", connection);
        cmd.Parameters.AddWithValue("h", holder);
        var held = new Dictionary<Guid, long>();
        await using var reader = await cmd.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            held[reader.GetGuid(0)] = reader.GetInt64(1);
        }
        return held;
    }

    private async Task KillLoopAsync(Random random, CancellationToken ct)
    {
        while (await PauseAsync(TimeSpan.FromMilliseconds(random.Next(4000, 7000)), ct))
        {
            await stack.Workers.RestartUnexpectedExitsAsync();
            if (await stack.Workers.KillRandomAsync(random))
            {
                log($"{Elapsed.TotalSeconds:F0} s: SIGKILL #{stack.Workers.Kills}");
            }
        }
    }

    private async Task TerminateLoopAsync(Random random, CancellationToken ct)
    {
        while (await PauseAsync(TimeSpan.FromMilliseconds(random.Next(1500, 3500)), ct))
        {
            try
            {
                await using var connection = stack.OpenProbe();
                await connection.OpenAsync(ct);
                await using var cmd = new NpgsqlCommand("""
                    select coalesce(state, 'unknown'), pg_terminate_backend(pid)
                    from (select pid, state from pg_stat_activity
                          where application_name like @prefix and pid <> pg_backend_pid()
                          order by random() limit @n) victims
                    """, connection);
                cmd.Parameters.AddWithValue("prefix", ChaosStack.WorkerApplicationName + "%");
                cmd.Parameters.AddWithValue("n", random.Next(1, 3));
                await using var reader = await cmd.ExecuteReaderAsync(ct);
                while (await reader.ReadAsync(ct))
                {
                    if (reader.GetBoolean(1))
                    {
                        Report.RecordTermination(reader.GetString(0));
                    }
                }
            }
            catch (NpgsqlException)
            {
                Report.RecordFailedTerminationRound();
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                return;
            }
        }
    }

    /// <summary>Waits <paramref name="delay"/>; false once the phase is over.</summary>
    private static async Task<bool> PauseAsync(TimeSpan delay, CancellationToken ct)
    {
        try
        {
            await Task.Delay(delay, ct);
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }
}
