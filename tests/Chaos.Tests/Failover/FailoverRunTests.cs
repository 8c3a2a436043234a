using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Npgsql;
using OutboxSync.Chaos.Tests.Stack;
using OutboxSync.Chaos.Tests.Verification;
using OutboxSync.Chaos.Tests.Workload;
using OutboxSync.Migrations;
using Xunit.Abstractions;

namespace OutboxSync.Chaos.Tests.Failover;

/// <summary>
/// PostgreSQL failover under load, Jepsen-style: the chaos run's workload records every operation the API
/// acknowledged; mid-load the primary is SIGKILLed (every process, as a host crash) and the streaming standby
/// promoted; the API and two workers reconnect through a multi-host connection string
/// (<c>Target Session Attributes=read-write</c>). At the end every acknowledged operation is checked on the new
/// primary and at the back end with the chaos run's checker. With a synchronous standby nothing may be lost; with an
/// asynchronous one the run records what was lost and how the system reports it. Sizes: <see cref="FailoverSettings"/>.
/// </summary>
[Trait("Category", "Failover")]
public sealed class FailoverRunTests(ITestOutputHelper output)
{
    private const string Database = "failover";

    /// <summary>How long the standby's WAL receiver is stopped right before the primary dies.</summary>
    private static readonly TimeSpan ReplicationStall = TimeSpan.FromSeconds(3);
    private readonly RunLog _log = new(output, "failover");

    [Fact]
    public async Task Every_acknowledged_operation_survives_the_primary_killed_mid_load_when_the_standby_is_synchronous()
    {
        var table = await RunAsync(synchronous: true);
        Assert.True(table.Failures.Count == 0, string.Join('\n', table.Failures));
    }

    [Fact]
    public async Task With_an_asynchronous_standby_the_system_recovers_and_the_run_reports_what_the_failover_lost()
    {
        var table = await RunAsync(synchronous: false);
        Assert.True(table.Failures.Count == 0, string.Join('\n', table.Failures));
    }

    private async Task<SummaryTable> RunAsync(bool synchronous)
    {
        var settings = FailoverSettings.FromEnvironment();
        var mode = synchronous ? "synchronous" : "asynchronous";
        Log($"failover run ({mode} standby): {settings}");
        await using var pair = await StandbyPair.StartAsync(synchronous);
        await using (var admin = pair.Open(pair.PrimaryPort, "postgres"))
        {
            await admin.OpenAsync();
            await using var create = new NpgsqlCommand($"create database {Database}", admin);
            await create.ExecuteNonQueryAsync();
        }
        await SchemaMigrator.ApplyAsync(new NpgsqlConnectionStringBuilder(pair.Open(pair.PrimaryPort, Database).ConnectionString).ConnectionString);
        Log($"primary :{pair.PrimaryPort}, standby :{pair.StandbyPort} ({mode}), migrated");

        await using var simulator = await SimulatorProcess.StartAsync();
        await simulator.SetFaultsAsync(new { latency_min_ms = 5, latency_max_ms = 60 });
        await using var api = await ServiceProcess.StartAsync("Api", new Dictionary<string, string>
        {
            ["Database__ConnectionString"] = pair.MultiHostConnectionString(Database, "failover-api"),
            ["Auth__Tokens__0__Sha256"] = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(ChaosStack.Token))),
            ["Auth__Tokens__0__ProjectId"] = ChaosStack.ProjectId,
            ["Auth__Tokens__0__Roles__0"] = "admin",
            ["Api__RateLimit__Enabled"] = "false",
            ["Logging__LogLevel__Default"] = "Warning",
        });
        var workers = new List<ServiceProcess>();
        try
        {
            for (var n = 1; n <= 2; n++)
            {
                workers.Add(await StartWorkerAsync(pair, simulator, n));
            }
            return await DriveAsync(settings, pair, simulator, api, workers, mode);
        }
        finally
        {
            if (settings.ReportDirectory is { } directory)
            {
                Directory.CreateDirectory(directory);
                await File.WriteAllTextAsync(Path.Combine(directory, $"{mode}-api.log"), api.Output);
                for (var i = 0; i < workers.Count; i++)
                {
                    await File.WriteAllTextAsync(Path.Combine(directory, $"{mode}-worker-{i + 1}.log"), workers[i].Output);
                }
            }
            foreach (var worker in workers)
            {
                await worker.DisposeAsync();
            }
        }
    }

    private async Task<SummaryTable> DriveAsync(FailoverSettings settings, StandbyPair pair, SimulatorProcess simulator, ServiceProcess api,
        List<ServiceProcess> workers, string mode)
    {
        using var client = new NeutronClient(api.Url!, ChaosStack.Token, viaBouncer: false);
        var plans = WorkloadPlan.Build(settings.Operations, settings.Resources, new Random(settings.Seed));
        var workload = new ChaosWorkload([client], plans, settings.Clients, settings.Seed);
        using var sampling = new CancellationTokenSource();
        var sampler = SampleCommittedAsync(pair, sampling.Token);

        var run = workload.RunAsync(settings.Window, CancellationToken.None);
        // The fault schedule, not a wait for a condition: the primary dies at a fixed point of the paced workload.
        await Task.WhenAny(run, Task.Delay(settings.KillAt - ReplicationStall));
        // Replication falls behind just before the crash, as over a congested link: an asynchronous primary goes on
        // acknowledging what the standby does not have; a synchronous one holds those commits back.
        pair.StallReplication();
        var acknowledgedBeforeStall = workload.Accepted.Count;
        await Task.Delay(ReplicationStall);
        await sampling.CancelAsync();
        var committed = await sampler;
        var acknowledgedBeforeKill = workload.Accepted.Count;
        await pair.KillPrimaryAsync();
        var killedAt = _log.Elapsed;
        Log($"replication stalled {ReplicationStall.TotalSeconds:F0} s ({acknowledgedBeforeKill - acknowledgedBeforeStall} operations acknowledged meanwhile), then the primary killed with {acknowledgedBeforeKill} acknowledged; last committed seq {committed.Seq}, lease token {committed.Token}");
        await Task.Delay(settings.Detection);
        await pair.PromoteStandbyAsync();
        var promotedAt = _log.Elapsed;
        DateTime promotedAtDb;
        await using (var probe = pair.Open(pair.StandbyPort, Database))
        {
            await probe.OpenAsync();
            await using var now = new NpgsqlCommand("select now()", probe);
            promotedAtDb = ((DateTime)(await now.ExecuteScalarAsync())!).ToUniversalTime();
        }
        var firstWrite = await Eventually.WaitAsync(async () => workload.Accepted.Count, n => n > acknowledgedBeforeKill || run.IsCompleted,
            TimeSpan.FromSeconds(120), "the first write acknowledged after the promotion");
        var writesAgainAfter = _log.Elapsed - promotedAt;
        Log($"standby promoted {(promotedAt - killedAt).TotalSeconds:F1} s after the kill; writes acknowledged again {writesAgainAfter.TotalSeconds:F1} s later");

        var workloadFailure = await RunLog.FailureOfAsync(run);
        Log($"workload finished: {workload.Accepted.Count} acknowledged; waiting for the queue to drain");
        var drainFailure = await RunLog.FailureOfAsync(Eventually.WaitAsync(() => ScalarAsync(pair, "select count(*) from outbox_entries where state = 'pending'"),
            n => n == 0, TimeSpan.FromSeconds(300), "the outbox to drain on the new primary"));

        var state = await FinalState.ReadAsync(() => pair.Open(pair.StandbyPort, Database), simulator);
        var verdict = ChaosVerdict.Judge(workload.Resources, workload.Accepted, state);
        var reconciliation = await ReconciliationRun.RequestAsync(client, Log);
        var missingEntries = await AcknowledgedWithoutOutboxEntryAsync(pair, workload.Accepted);
        var tokenAfter = await ScalarAsync(pair, "select last_value from fencing_tokens");
        var firstSeqAfter = await ScalarAsync(pair, $"select coalesce(min(seq), 0) from outbox_entries where created_at >= '{promotedAtDb:O}'");
        var lastSeqAfter = await ScalarAsync(pair, "select coalesce(max(seq), 0) from outbox_entries");

        var t = new SummaryTable();
        var sync = pair.Synchronous;
        t.Note("run", "size", $"{settings}; {mode} standby");
        t.Check("failover", "replication stalled (the primary's WAL sender SIGSTOPped), then the primary SIGKILLed (postmaster and every backend) mid-load",
            $"stall {ReplicationStall.TotalSeconds:F0} s, {acknowledgedBeforeKill - acknowledgedBeforeStall} operations acknowledged during it; killed at {killedAt.TotalSeconds:F0} s with {acknowledgedBeforeKill} acknowledged",
            acknowledgedBeforeKill > 0);
        t.Check("failover", "standby promoted; API and workers writing to it through the multi-host connection string",
            $"promoted {(promotedAt - killedAt).TotalSeconds:F1} s after the kill; first write acknowledged {writesAgainAfter.TotalSeconds:F1} s after the promotion ({firstWrite} acknowledged by then)",
            firstWrite > acknowledgedBeforeKill);
        t.Check("failover", "processes that exited", $"{workers.Count(w => w.HasExited)} workers, {(api.HasExited ? 1 : 0)} API",
            !api.HasExited && workers.All(w => !w.HasExited));

        var accepted = workload.Accepted;
        if (sync)
        {
            t.Check("workload", "acknowledged operations", $"{accepted.Count} (required >= {settings.Operations})", accepted.Count >= settings.Operations);
        }
        else
        {
            // A client stops working on a unit once a lost change makes its next call 404.
            t.Note("workload", "acknowledged operations", $"{accepted.Count} of {settings.Operations} planned");
        }
        t.Note("workload", "answers to mutating calls (all attempts)",
            string.Join(", ", workload.Answers.OrderBy(a => a.Key).Select(a => $"{a.Key}: {a.Value}")) + $", transport failures: {workload.TransportFailures}");
        var internalErrors = workload.Answers.GetValueOrDefault(500);
        t.Check("workload", "API 500 answers (the database's failover is 503)", internalErrors.ToString(CultureInfo.InvariantCulture), internalErrors == 0);
        t.Note("workload", "ambiguous failures resolved", $"{workload.Ambiguous} calls; {accepted.Count(a => a.Recovered)} found committed");
        if (sync)
        {
            t.Check("workload", "refused calls", workload.Refusals.Count.ToString(CultureInfo.InvariantCulture), workload.Refusals.Count == 0, workload.Refusals);
        }
        else
        {
            // A resource whose create was lost makes its later calls 404: the clients see the loss too.
            t.Note("lost", "calls refused because an acknowledged change was lost", $"{workload.Refusals.Count}: {string.Join("; ", workload.Refusals.Take(3))}");
        }
        t.Check("workload", "clients finished", workloadFailure?.Message ?? "yes", workloadFailure is null);

        var ops = verdict.Operations;
        int Count(OperationOutcome o) => ops.Where(p => p.Key.Outcome == o).Sum(p => p.Value);
        var lost = Count(OperationOutcome.NotApplied);
        var wrong = verdict.Resources.GetValueOrDefault(ResourceOutcome.Wrong);
        var outcome = $"applied {Count(OperationOutcome.Applied)}, superseded by a later delete {Count(OperationOutcome.SupersededByDelete)}, ERROR with reason {Count(OperationOutcome.ErrorWithReason)}, not applied {lost}";
        var findings = reconciliation?["findings"] is System.Text.Json.Nodes.JsonArray list ? list.Count : -1;
        var reconciliationText = reconciliation is null ? "did not finish" : $"#{reconciliation["id"]} {reconciliation["state"]}, {findings} findings";
        if (sync)
        {
            t.Check("outcome", "acknowledged operations (new primary and back end)", outcome, lost == 0 && ops.Values.Sum() == accepted.Count, verdict.Problems);
            t.Check("outcome", "acknowledged writes whose outbox entry is missing on the new primary", missingEntries.Count.ToString(CultureInfo.InvariantCulture),
                missingEntries.Count == 0, missingEntries);
            t.Check("outcome", "resources", Resources(verdict), wrong == 0, verdict.Problems);
            t.Check("outcome", "database vs back end, compared in full", $"{verdict.Drift.Count} differences", verdict.Drift.Count == 0, verdict.Drift);
            t.Check("outcome", "reconciliation run (operator API)", reconciliationText,
                reconciliation?["state"]?.GetValue<string>() == "finished" && findings == 0);
        }
        else
        {
            // What an asynchronous standby can lose is the point of this run: recorded, not required to be zero.
            t.Note("lost", "acknowledged operations (new primary and back end)", outcome);
            t.Note("lost", "acknowledged writes whose outbox entry is missing on the new primary", $"{missingEntries.Count}: {string.Join("; ", missingEntries.Take(5))}");
            t.Note("lost", "resources", Resources(verdict));
            t.Note("lost", "database vs back end, compared in full", $"{verdict.Drift.Count} differences: {string.Join("; ", verdict.Drift.Take(5))}");
            t.Note("lost", "how it is reported: reconciliation run (operator API)",
                $"{reconciliationText}: {string.Join("; ", (reconciliation?["findings"] as System.Text.Json.Nodes.JsonArray ?? []).Take(5).Select(f => f!.ToJsonString()))}");
            t.Check("lost", "the reconciliation run finished (an operator can see every difference)", reconciliationText,
                reconciliation?["state"]?.GetValue<string>() == "finished");
        }
        var tokens = $"committed before the kill up to {committed.Token}; the new primary's sequence is at {tokenAfter}";
        var seqs = $"committed before the kill up to {committed.Seq}; entries accepted after the promotion start at {firstSeqAfter} (last {lastSeqAfter})";
        if (sync)
        {
            t.Check("sequences", "fencing tokens never go backwards", tokens, tokenAfter >= committed.Token);
            t.Check("sequences", "outbox seq never goes backwards", seqs, firstSeqAfter == 0 || firstSeqAfter > committed.Seq);
        }
        else
        {
            t.Note("lost", "fencing tokens", tokens + (tokenAfter < committed.Token ? ": WENT BACKWARDS" : ""));
            t.Note("lost", "outbox seq", seqs + (firstSeqAfter != 0 && firstSeqAfter <= committed.Seq ? ": WENT BACKWARDS (seq values reused)" : ""));
        }
        var pending = state.OutboxByState.GetValueOrDefault("pending");
        t.Check("outcome", "queue drained on the new primary", drainFailure?.Message ?? "yes", drainFailure is null);
        t.Check("outcome", "stranded outbox entries", pending.ToString(CultureInfo.InvariantCulture), pending == 0);
        t.Note("outcome", "outbox entries by state", string.Join(", ", state.OutboxByState.OrderBy(s => s.Key).Select(s => $"{s.Key} {s.Value}")));
        var violations = string.Join(", ", state.Violations.Select(v => $"{v.Key} {v.Value}"));
        if (sync)
        {
            t.Check("outcome", "simulator violation counters (leases from before the failover never win after it)", violations,
                state.Violations.Count >= 5 && state.Violations.Values.All(v => v == 0), state.OverlappingCalls);
        }
        else
        {
            t.Note("lost", "simulator violation counters", violations);
        }

        if (settings.ReportDirectory is { } logDirectory)
        {
            await AcknowledgedLog.WriteAsync(Path.Combine(logDirectory, $"{mode}-acknowledged.jsonl"), workload.Accepted, verdict);
        }
        var rendered = t.Render();
        Log("\n" + rendered);
        if (settings.ReportDirectory is { } directory)
        {
            Directory.CreateDirectory(directory);
            await File.WriteAllTextAsync(Path.Combine(directory, $"{mode}.md"), rendered);
        }
        return t;
    }

    private static string Resources(ChaosVerdict verdict) =>
        string.Join(", ", Enum.GetValues<ResourceOutcome>().Select(o => $"{o} {verdict.Resources.GetValueOrDefault(o)}"));

    /// <summary>The highest outbox seq and lease token the primary had committed, read every 100 ms until the kill.</summary>
    private static async Task<(long Seq, long Token)> SampleCommittedAsync(StandbyPair pair, CancellationToken ct)
    {
        var (seq, token) = (0L, 0L);
        while (!ct.IsCancellationRequested)
        {
            try
            {
                await using var probe = pair.Open(pair.PrimaryPort, Database);
                await probe.OpenAsync(ct);
                await using var cmd = new NpgsqlCommand(
                    "select (select coalesce(max(seq), 0) from outbox_entries), (select coalesce(max(token), 0) from resource_leases)", probe);
                await using var reader = await cmd.ExecuteReaderAsync(ct);
                await reader.ReadAsync(ct);
                (seq, token) = (Math.Max(seq, reader.GetInt64(0)), Math.Max(token, reader.GetInt64(1)));
                await Task.Delay(100, ct);
            }
            catch (OperationCanceledException)
            {
                break;
            }
        }
        return (seq, token);
    }

    /// <summary>Acknowledged creates and updates with no outbox entry at (or after) their revision on the new primary.</summary>
    private static async Task<List<string>> AcknowledgedWithoutOutboxEntryAsync(StandbyPair pair, IReadOnlyCollection<AcceptedOperation> accepted)
    {
        await using var probe = pair.Open(pair.StandbyPort, Database);
        await probe.OpenAsync();
        var latest = new Dictionary<Guid, long>();
        await using (var cmd = new NpgsqlCommand("select resource_id, max(revision) from outbox_entries group by resource_id", probe))
        await using (var reader = await cmd.ExecuteReaderAsync())
        {
            while (await reader.ReadAsync())
            {
                latest[reader.GetGuid(0)] = reader.GetInt64(1);
            }
        }
        return accepted
            .Where(a => a.Kind is OperationKind.Create or OperationKind.Update && a.Revision is not null && !a.Resource.IsInterface)
            .Where(a => !latest.TryGetValue(a.Resource.Id, out var revision) || revision < a.Revision)
            .Select(a => $"{a.Kind} {a.Resource.Type} {a.Resource.Id} at revision {a.Revision}")
            .ToList();
    }

    private static async Task<long> ScalarAsync(StandbyPair pair, string sql)
    {
        await using var probe = pair.Open(pair.StandbyPort, Database);
        await probe.OpenAsync();
        await using var cmd = new NpgsqlCommand(sql, probe);
        return Convert.ToInt64(await cmd.ExecuteScalarAsync(), CultureInfo.InvariantCulture);
    }

    private static Task<ServiceProcess> StartWorkerAsync(StandbyPair pair, SimulatorProcess simulator, int number)
    {
        var connection = pair.MultiHostConnectionString(Database, $"failover-worker-{number}");
        return ServiceProcess.StartAsync("Worker",
            RunWorkerSettings.For(connection, connection, simulator.BaseUrl, $"failover-worker-{number}", TimeSpan.FromSeconds(2), ChaosSettings.LeaseSafetyMargin),
            healthPath: "/health/ready");
    }


    private void Log(string line) => _log.Write(line);
}
