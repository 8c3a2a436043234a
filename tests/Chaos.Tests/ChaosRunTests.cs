using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Npgsql;
using OutboxSync.Chaos.Tests.Faults;
using OutboxSync.Chaos.Tests.Stack;
using OutboxSync.Chaos.Tests.Verification;
using OutboxSync.Chaos.Tests.Workload;
using Xunit.Abstractions;

namespace OutboxSync.Chaos.Tests;

/// <summary>
/// The chaos run (README, "Chaos run"): real processes, a concurrent API workload, and every fault at once. Its
/// size comes from CHAOS_* variables (<see cref="ChaosSettings"/>); scripts/chaos.sh runs the full size.
/// </summary>
[Trait("Category", "Chaos")]
public sealed class ChaosRunTests(ITestOutputHelper output)
{
    private readonly RunLog _log = new(output, "chaos");

    [Fact]
    public async Task Every_accepted_operation_is_applied_and_both_sides_agree_after_kills_pauses_database_restarts_and_back_end_faults()
    {
        var settings = ChaosSettings.FromEnvironment();
        Log($"chaos run: {settings}");
        await using var stack = await ChaosStack.StartAsync(Log, settings.LogDirectory);
        using var direct = new NeutronClient(stack.DirectApi.Url!, ChaosStack.Token, viaBouncer: false);
        using var bounced = new NeutronClient(stack.BouncedApi.Url!, ChaosStack.Token, viaBouncer: true);
        var plans = WorkloadPlan.Build(settings.Operations, settings.Resources, new Random(settings.Seed));
        var workload = new ChaosWorkload([direct, bounced], plans, settings.Clients, settings.Seed);
        var transactionsBefore = await DatabaseTransactionsAsync(stack);

        Log($"workload: {workload.PlannedOperations} operations on {plans.Count * WorkloadPlan.ResourcesPerUnit} resources over {settings.FaultPhase.TotalSeconds:F0} s");
        var run = workload.RunAsync(settings.FaultPhase, CancellationToken.None);
        var faults = new ChaosFaults(stack, settings, Log);
        var faultFailure = await RunLog.FailureOfAsync(faults.RunAsync(run));
        var workloadFailure = await RunLog.FailureOfAsync(run);
        Log($"workload finished: {workload.Accepted.Count} accepted; waiting for the queue to drain");

        var drainStarted = Stopwatch.GetTimestamp();
        var drainFailure = await RunLog.FailureOfAsync(Eventually.WaitAsync(() => PendingEntriesAsync(stack), n => n == 0,
            TimeSpan.FromSeconds(Math.Max(300, settings.FaultPhase.TotalSeconds)), "the outbox to drain"));
        var drained = Stopwatch.GetElapsedTime(drainStarted);
        Log($"drain: {drained.TotalSeconds:F0} s");

        var state = await FinalState.ReadAsync(stack);
        var verdict = ChaosVerdict.Judge(workload.Resources, workload.Accepted, state);
        var reconciliation = await ReconciliationRun.RequestAsync(direct, Log);
        var staleAfterResume = faults.Report.Pause is { } pause ? await StaleCallsAfterResumeAsync(stack, pause) : (Stale: 0, TakenOver: 0);
        var bouncerTransactions = await stack.Bouncer.TransactionCountAsync(ChaosStack.DatabaseName, Path.Combine(stack.Server.BinDirectory!, "psql"));
        var allTransactions = await DatabaseTransactionsAsync(stack) - transactionsBefore;

        var table = Summarise(settings, plans.Count, workload, faults.Report, stack, state, verdict, reconciliation, staleAfterResume,
            (bouncerTransactions, allTransactions), drained, (faultFailure, workloadFailure, drainFailure));
        var rendered = table.Render();
        Log("\n" + rendered);
        if (settings.ReportPath is { } path)
        {
            Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
            await File.WriteAllTextAsync(path, rendered);
        }
        Assert.True(table.Failures.Count == 0, string.Join('\n', table.Failures));
    }

    private SummaryTable Summarise(ChaosSettings settings, int units, ChaosWorkload workload, FaultReport faults, ChaosStack stack,
        FinalState state, ChaosVerdict verdict, JsonObject? reconciliation, (int Stale, int TakenOver) pauseCalls,
        (long Bounced, long All) transactions, TimeSpan drained, (Exception? Faults, Exception? Workload, Exception? Drain) failures)
    {
        var t = new SummaryTable();
        var accepted = workload.Accepted;
        t.Note("run", "size", $"{workload.PlannedOperations} operations planned on {units * WorkloadPlan.ResourcesPerUnit} resources ({units} units), {settings.Clients} clients, seed {settings.Seed}");
        t.Note("run", "timing", $"fault phase {faults.Phase.TotalSeconds:F0} s (paced over {settings.FaultPhase.TotalSeconds:F0} s), drain {drained.TotalSeconds:F0} s, total {_log.Elapsed.TotalSeconds:F0} s");

        t.Check("workload", "accepted operations", $"{accepted.Count} (required >= {settings.Operations})", accepted.Count >= settings.Operations);
        t.Note("workload", "by kind", string.Join(", ", accepted.GroupBy(a => a.Kind).OrderBy(g => g.Key).Select(g => $"{g.Key} {g.Count()}")));
        t.Check("workload", "resources created", $"{workload.Resources.Count} (required >= {settings.Resources})", workload.Resources.Count >= settings.Resources);
        t.Note("workload", "answers to mutating calls (all attempts)",
            string.Join(", ", workload.Answers.OrderBy(a => a.Key).Select(a => $"{a.Key}: {a.Value}")) + $", transport failures: {workload.TransportFailures}");
        var internalErrors = workload.Answers.GetValueOrDefault(500);
        t.Check("workload", "API 500 answers (the API answers 503 when the database is unavailable)", internalErrors.ToString(CultureInfo.InvariantCulture),
            internalErrors == 0, stack.ApiFailures().Distinct());
        t.Note("workload", "ambiguous failures resolved", $"{workload.Ambiguous} calls; {accepted.Count(a => a.Recovered)} found committed (by name lookup, or 404 on a repeated delete)");
        t.Check("workload", "refused calls", workload.Refusals.Count.ToString(CultureInfo.InvariantCulture), workload.Refusals.Count == 0, workload.Refusals);
        t.Check("workload", "clients finished", failures.Workload?.Message ?? "yes", failures.Workload is null);

        t.Check("faults", "worker SIGKILLs / restarts", $"{stack.Workers.Kills} / {stack.Workers.Restarts}", stack.Workers.Kills > 0);
        var apisExited = new[] { stack.DirectApi, stack.BouncedApi }.Count(a => a.HasExited);
        t.Check("faults", "processes that exited by themselves or did not restart", $"{stack.Workers.Problems.Count} workers, {apisExited} APIs",
            stack.Workers.Problems.Count == 0 && apisExited == 0, stack.Workers.Problems);
        t.Check("faults", "worker sessions ended (pg_terminate_backend)",
            $"{faults.Terminated} ({string.Join(", ", faults.TerminatedByState.OrderBy(s => s.Key).Select(s => $"{s.Key} {s.Value}"))}); {faults.TerminationRoundsFailed} rounds found PostgreSQL down",
            faults.Terminated > 0);
        t.Check("faults", "PostgreSQL restart (pg_ctl restart -m fast)",
            faults.RestartTook is null ? "not done"
                : $"at {faults.RestartAt!.Value.TotalSeconds:F0} s, took {faults.RestartTook.Value.TotalSeconds:F1} s; APIs and workers answered again {faults.RecoveredAfterRestart?.TotalSeconds.ToString("F1", CultureInfo.InvariantCulture) ?? "never"} s later",
            faults.RecoveredAfterRestart is not null);
        t.Check("faults", "simulator outage",
            faults.OutageLasted is null ? "not done" : $"at {faults.OutageAt!.Value.TotalSeconds:F0} s for {faults.OutageLasted.Value.TotalSeconds:F1} s",
            faults.OutageLasted >= ChaosSettings.OutageDuration);
        var pause = faults.Pause;
        t.Check("faults", "SIGSTOP longer than the lease",
            pause is null ? "not done"
                : $"{pause.InstanceId} for {pause.Duration.TotalSeconds:F1} s (lease {ChaosSettings.LeaseDuration.TotalSeconds:F0} s) holding {pause.HeldLeases.Count} leases; {pauseCalls.TakenOver} taken over meanwhile; lost-lease warnings after SIGCONT for {pause.LostLeaseWarnings}, left in doubt before the pause {pause.LeftInDoubt}, released in time {pause.ReleasedInTime}, unaccounted {pause.Unaccounted}",
            pause is not null && pause.Duration > ChaosSettings.LeaseDuration && pause.HeldLeases.Count > 0 && pauseCalls.TakenOver > 0
                && pause.Unaccounted == 0);
        t.Check("faults", "calls under a paused lease after SIGCONT", pauseCalls.Stale.ToString(CultureInfo.InvariantCulture), pause is not null && pauseCalls.Stale == 0);
        var (injected, total) = InjectedFailures(faults.SimulatorStatsAtPhaseEnd ?? state.SimulatorStats);
        t.Check("faults", "simulator transient faults (during the fault phase)",
            $"{injected.Percent:F1}% of {total} mutating calls ({injected.Detail}); {InjectedFailures(state.SimulatorStats).Total - total} more calls after it",
            injected.Percent >= 10);
        var viaBouncer = accepted.Count(a => a.ViaBouncer);
        t.Check("faults", "traffic through PgBouncer (transaction pooling)",
            $"API: {viaBouncer} of {accepted.Count} accepted calls ({Percent(viaBouncer, accepted.Count):F0}%); database: {transactions.Bounced} of {transactions.All} transactions ({Percent(transactions.Bounced, transactions.All):F0}%); worker 3 of 3 bounced",
            viaBouncer > 0 && transactions.Bounced > 0);
        if (failures.Faults is not null)
        {
            t.Check("faults", "fault schedule", failures.Faults.Message, false);
        }

        var ops = verdict.Operations;
        int Count(OperationOutcome o) => ops.Where(p => p.Key.Outcome == o).Sum(p => p.Value);
        t.Check("outcome", "accepted operations",
            $"applied {Count(OperationOutcome.Applied)}, superseded by a later accepted delete {Count(OperationOutcome.SupersededByDelete)}, resource ERROR with reason {Count(OperationOutcome.ErrorWithReason)}, not applied {Count(OperationOutcome.NotApplied)}",
            Count(OperationOutcome.NotApplied) == 0 && ops.Values.Sum() == accepted.Count, verdict.Problems);
        t.Check("outcome", "resources",
            string.Join(", ", Enum.GetValues<ResourceOutcome>().Select(o => $"{o} {verdict.Resources.GetValueOrDefault(o)}")),
            verdict.Resources.GetValueOrDefault(ResourceOutcome.Wrong) == 0, verdict.Problems);
        var pending = state.OutboxByState.GetValueOrDefault("pending");
        t.Check("outcome", "queue drained after the faults", failures.Drain?.Message ?? $"in {drained.TotalSeconds:F0} s", failures.Drain is null);
        t.Check("outcome", "stranded outbox entries (pending after the drain)", pending.ToString(CultureInfo.InvariantCulture), pending == 0);
        t.Note("outcome", "outbox entries by state", string.Join(", ", state.OutboxByState.OrderBy(s => s.Key).Select(s => $"{s.Key} {s.Value}")));
        t.Check("outcome", "database vs back end, compared in full", $"{verdict.Drift.Count} differences", verdict.Drift.Count == 0, verdict.Drift);
        var run = reconciliation;
        var findings = run?["findings"] is JsonArray list ? list.Count : -1;
        t.Check("outcome", "reconciliation run (operator API)",
            run is null ? "did not finish" : $"#{run["id"]} {run["state"]}, {findings} findings, checked {run["summary"]?["checked"]?.ToJsonString() ?? "?"}",
            run?["state"]?.GetValue<string>() == "finished" && findings == 0,
            run?["findings"] is JsonArray f ? f.Select(x => x!.ToJsonString()) : [run?["error"]?.ToString() ?? ""]);
        t.Check("outcome", "simulator violation counters",
            string.Join(", ", state.Violations.Select(v => $"{v.Key} {v.Value}")),
            state.Violations.Count >= 5 && state.Violations.Values.All(v => v == 0), state.OverlappingCalls);
        t.Note("outcome", "live leases after the drain", state.LiveLeases.ToString(CultureInfo.InvariantCulture));
        return t;
    }

    /// <summary>Share of mutating calls the simulator failed on purpose: 503s, resets and abandoned hangs (outage answers apart).</summary>
    private static ((double Percent, string Detail), long Total) InjectedFailures(JsonObject stats)
    {
        var outcomes = stats["outcomes"]!.AsObject().ToDictionary(o => o.Key, o => o.Value!.GetValue<long>());
        var total = outcomes.Values.Sum();
        var failed = outcomes["failed_injected"] + outcomes["failed_after_apply"] + outcomes["aborted"];
        var detail = $"503 or reset {outcomes["failed_injected"]}, 503 after applying {outcomes["failed_after_apply"]}, hung and abandoned {outcomes["aborted"]}; outage answers {outcomes["outage"]}; ended at the caller's deadline {outcomes["deadline_exceeded"]}";
        return ((Percent(failed, total - outcomes["outage"]), detail), total);
    }

    private static double Percent(long part, long whole) => whole == 0 ? 0 : 100.0 * part / whole;

    /// <summary>
    /// For each lease the paused worker held: calls the simulator received under that (old) token after SIGCONT
    /// (must be none), and whether another holder acted on the resource with a newer token meanwhile.
    /// </summary>
    private static async Task<(int Stale, int TakenOver)> StaleCallsAfterResumeAsync(ChaosStack stack, PauseRecord pause)
    {
        var (stale, takenOver) = (0, 0);
        foreach (var (resource, token) in pause.HeldLeases)
        {
            var calls = (await stack.Simulator.Admin.GetFromJsonAsync<JsonObject>($"_sim/calls?resource_id={resource}"))!["items"]!.AsArray();
            stale += calls.Count(c => c!["fencing_token"]?.GetValue<long>() == token
                && DateTimeOffset.Parse(c["started_at"]!.GetValue<string>(), CultureInfo.InvariantCulture) > pause.ResumedAt);
            takenOver += calls.Any(c => c!["fencing_token"]?.GetValue<long>() > token) ? 1 : 0;
        }
        return (stale, takenOver);
    }

    private static async Task<long> PendingEntriesAsync(ChaosStack stack)
    {
        await using var connection = stack.OpenProbe();
        await connection.OpenAsync();
        await using var cmd = new NpgsqlCommand("select count(*) from outbox_entries where state = 'pending'", connection);
        return (long)(await cmd.ExecuteScalarAsync())!;
    }

    private static async Task<long> DatabaseTransactionsAsync(ChaosStack stack)
    {
        await using var connection = stack.OpenProbe();
        await connection.OpenAsync();
        await using var cmd = new NpgsqlCommand("select xact_commit + xact_rollback from pg_stat_database where datname = @db", connection);
        cmd.Parameters.AddWithValue("db", ChaosStack.DatabaseName);
        return (long)(await cmd.ExecuteScalarAsync())!;
    }


    private void Log(string line) => _log.Write(line);
}
