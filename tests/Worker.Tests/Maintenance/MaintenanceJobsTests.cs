using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Npgsql;
using OutboxSync.Worker.Maintenance;
using OutboxSync.Worker.Tests.Support;
using Quartz;

namespace OutboxSync.Worker.Tests.Maintenance;

/// <summary>The maintenance operations against real rows, and the clustered scheduler firing once across replicas.</summary>
public sealed class MaintenanceJobsTests : DatabaseBackedTests
{
    [Fact]
    public async Task Retention_deletes_only_finished_entries_older_than_the_window_in_batches()
    {
        var oldDone = await InsertEntryAsync("done", completedAgo: TimeSpan.FromDays(10));
        var oldSuperseded = await InsertEntryAsync("superseded", completedAgo: TimeSpan.FromDays(10));
        var oldDiscarded = await InsertEntryAsync("discarded", completedAgo: TimeSpan.FromDays(10));
        var extraOld = new List<long>();
        for (var i = 0; i < 5; i++)
        {
            extraOld.Add(await InsertEntryAsync("done", completedAgo: TimeSpan.FromDays(8)));
        }
        var recentDone = await InsertEntryAsync("done", completedAgo: TimeSpan.FromHours(1));
        var oldFailed = await InsertEntryAsync("failed", completedAgo: TimeSpan.FromDays(30));
        var oldPending = await InsertEntryAsync("pending", completedAgo: null, createdAgo: TimeSpan.FromDays(30));

        var retention = new OutboxRetention(DataSource, Options.Create(new MaintenanceOptions { RetentionWindow = TimeSpan.FromDays(7), RetentionBatchSize = 3 }));
        var result = await retention.RunOnceAsync(CancellationToken.None);

        Assert.Equal(8, result.Deleted);
        Assert.True(result.Batches >= 3, $"expected several small batches, got {result.Batches}");
        var left = await SeqsAsync();
        Assert.Equivalent(new[] { recentDone, oldFailed, oldPending }, left);
        Assert.DoesNotContain(oldDone, left);
        Assert.DoesNotContain(oldSuperseded, left);
        Assert.DoesNotContain(oldDiscarded, left);
    }

    [Fact]
    public async Task Lease_sweep_removes_expired_leases_and_keeps_live_ones()
    {
        await using (var cmd = DataSource.CreateCommand("""
            insert into resource_leases values
              (gen_random_uuid(), 'dead', nextval('fencing_tokens'), now() - interval '1 hour', now() - interval '1 minute'),
              (gen_random_uuid(), 'dead', nextval('fencing_tokens'), now() - interval '1 hour', now() - interval '1 second'),
              (gen_random_uuid(), 'alive', nextval('fencing_tokens'), now(), now() + interval '1 minute')
            """))
        {
            await cmd.ExecuteNonQueryAsync();
        }
        var result = await new ExpiredLeaseSweep(DataSource).RunOnceAsync(CancellationToken.None);
        Assert.Equal(2, result.Removed);
        await using var left = DataSource.CreateCommand("select holder from resource_leases");
        Assert.Equal("alive", await left.ExecuteScalarAsync());
    }

    [Fact]
    public async Task Stuck_work_report_names_entries_due_past_the_threshold_with_their_blocker_and_last_error()
    {
        var parent = Guid.NewGuid();
        var stuck = await InsertEntryAsync("pending", completedAgo: null, createdAgo: TimeSpan.FromHours(2),
            dueAgo: TimeSpan.FromHours(1), blockedBy: parent.ToString(), lastError: "unknown_parent");
        await InsertEntryAsync("pending", completedAgo: null, createdAgo: TimeSpan.FromSeconds(5), dueAgo: TimeSpan.FromSeconds(1));
        await InsertEntryAsync("pending", completedAgo: null, createdAgo: TimeSpan.FromHours(3), dueAgo: TimeSpan.FromHours(-1));

        var metrics = new MaintenanceMetrics(DataSource, TimeProvider.System, NullLogger<MaintenanceMetrics>.Instance);
        var report = new StuckWorkReport(DataSource, Options.Create(new MaintenanceOptions { StuckThreshold = TimeSpan.FromMinutes(5) }), metrics,
            NullLogger<StuckWorkReport>.Instance);
        var found = await report.RunOnceAsync(CancellationToken.None);

        var entry = Assert.Single(found);
        Assert.Equal(stuck, entry.Seq);
        Assert.Equal(parent.ToString(), entry.BlockedBy);
        Assert.Equal("unknown_parent", entry.LastError);
        Assert.Equal(1, metrics.StuckEntries);
    }

    [Fact]
    public void Queue_gauges_refresh_every_five_seconds_and_less_often_when_the_refresh_is_slow()
    {
        Assert.Equal(TimeSpan.FromSeconds(5), MaintenanceMetrics.NextRefreshIn(TimeSpan.FromMilliseconds(3)));
        Assert.Equal(TimeSpan.FromSeconds(5), MaintenanceMetrics.NextRefreshIn(TimeSpan.FromMilliseconds(50)));
        Assert.Equal(TimeSpan.FromSeconds(7.2), MaintenanceMetrics.NextRefreshIn(TimeSpan.FromMilliseconds(72)));
    }

    [Fact]
    public async Task Queue_gauges_age_the_oldest_unapplied_change_from_its_acceptance_even_while_it_backs_off()
    {
        // As during a back-end outage: the oldest change is rescheduled into the future, so nothing old is due.
        await InsertEntryAsync("pending", completedAgo: null, createdAgo: TimeSpan.FromHours(2), dueAgo: TimeSpan.FromMinutes(-1));
        await InsertEntryAsync("pending", completedAgo: null, createdAgo: TimeSpan.FromSeconds(40), dueAgo: TimeSpan.FromSeconds(30));
        await InsertEntryAsync("pending", completedAgo: null, createdAgo: TimeSpan.FromMinutes(3), dueAgo: TimeSpan.FromSeconds(-5),
            blockedBy: Guid.NewGuid().ToString());
        await InsertEntryAsync("failed", completedAgo: null, createdAgo: TimeSpan.FromHours(9));
        await InsertEntryAsync("done", completedAgo: TimeSpan.FromHours(4), createdAgo: TimeSpan.FromHours(5));

        var gauges = await new MaintenanceMetrics(DataSource, TimeProvider.System, NullLogger<MaintenanceMetrics>.Instance).RefreshAsync(CancellationToken.None);

        Assert.Equal((2L, 1L, 1L), (gauges.Pending, gauges.Blocked, gauges.Failed));
        Assert.InRange(gauges.OldestDueAge, TimeSpan.FromSeconds(30), TimeSpan.FromSeconds(90));
        Assert.InRange(gauges.OldestPendingAge, TimeSpan.FromHours(2), TimeSpan.FromHours(2) + TimeSpan.FromMinutes(1));
    }

    [Fact]
    public async Task Scheduled_reconciliation_requests_one_run_and_not_another_while_it_is_pending()
    {
        var scheduled = new ScheduledReconciliation(DataSource);
        Assert.NotNull(await scheduled.RunOnceAsync(CancellationToken.None));
        Assert.Null(await scheduled.RunOnceAsync(CancellationToken.None));
        await using var cmd = DataSource.CreateCommand("select count(*) from reconciliation_runs where requested_by = 'schedule'");
        Assert.Equal(1L, await cmd.ExecuteScalarAsync());
    }

    [Fact]
    public async Task A_clustered_job_fires_once_across_replicas_started_and_restarted_after_it_fired()
    {
        await using (var create = DataSource.CreateCommand("create table job_runs (instance text not null, at timestamptz not null default now())"))
        {
            await create.ExecuteNonQueryAsync();
        }
        // An hourly trigger that starts now. The first replica stores it and fires it; a second replica and a
        // restarted first one declare the same trigger after that fire and must not fire it again.
        using (var first = BuildReplica())
        {
            await first.StartAsync();
            await Eventually.WaitAsync(CountRunsAsync, n => n >= 1, TimeSpan.FromSeconds(60), "the clustered job to run");
            using var second = BuildReplica();
            await second.StartAsync();
            try
            {
                await WaitForCheckedInReplicasAsync(2);
            }
            finally
            {
                await Task.WhenAll(first.StopAsync(), second.StopAsync());
            }
        }
        using (var restarted = BuildReplica())
        {
            await restarted.StartAsync();
            try
            {
                await WaitForCheckedInReplicasAsync(1);
                // A trigger that fires is acquired within one idle-wait of the scheduler; give it several.
                await using var trigger = DataSource.CreateCommand($"""
                    select count(*), min(next_fire_time) > {NowTicks} + 1800 * 10000000::bigint
                    from qrtz_triggers where trigger_name = 'hourly'
                    """);
                await using var reader = await trigger.ExecuteReaderAsync();
                await reader.ReadAsync();
                Assert.Equal(1L, reader.GetInt64(0));
                Assert.True(reader.GetBoolean(1), "the stored trigger's next fire should still be an hour away");
            }
            finally
            {
                await restarted.StopAsync();
            }
        }
        Assert.Equal(1, await CountRunsAsync());
    }

    [Fact]
    public async Task A_changed_interval_takes_effect_from_the_last_fire_without_firing_again()
    {
        await using (var create = DataSource.CreateCommand("create table job_runs (instance text not null, at timestamptz not null default now())"))
        {
            await create.ExecuteNonQueryAsync();
        }
        using (var hourly = BuildReplica())
        {
            await hourly.StartAsync();
            await Eventually.WaitAsync(CountRunsAsync, n => n >= 1, TimeSpan.FromSeconds(60), "the clustered job to run");
            await hourly.StopAsync();
        }
        using var tenMinutes = BuildReplica(TimeSpan.FromMinutes(10));
        await tenMinutes.StartAsync();
        try
        {
            await WaitForCheckedInReplicasAsync(1);
            await using var trigger = DataSource.CreateCommand("""
                select (next_fire_time - prev_fire_time) / 10000000 from qrtz_triggers where trigger_name = 'hourly'
                """);
            Assert.Equal(600L, (long)(await trigger.ExecuteScalarAsync())!);
        }
        finally
        {
            await tenMinutes.StopAsync();
        }
        Assert.Equal(1, await CountRunsAsync());
    }

    // Quartz.NET stores times as .NET ticks (100 ns since 0001-01-01 UTC).
    private const string NowTicks = "((extract(epoch from now()) * 10000000)::bigint + 621355968000000000)";

    private Task WaitForCheckedInReplicasAsync(long count) =>
        Eventually.WaitAsync(async () =>
        {
            await using var cmd = DataSource.CreateCommand($"""
                select count(*) from qrtz_scheduler_state
                where last_checkin_time > {NowTicks} - 3 * 10000000::bigint
                """);
            return (long)(await cmd.ExecuteScalarAsync())!;
        }, n => n >= count, TimeSpan.FromSeconds(60), $"{count} replica(s) to be checked in to the cluster");

    private IHost BuildReplica(TimeSpan? interval = null)
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Logging.ClearProviders();
        builder.Services.AddSingleton(DataSource);
        builder.AddQuartz(q =>
        {
            MaintenanceScheduling.UseClusteredStore(q, Database.ConnectionString, TimeSpan.FromSeconds(1));
            q.ScheduleJob<RecordingJob>(
                t => t.WithIdentity("hourly", "test").StartNow().WithSimpleSchedule(x => x.WithInterval(interval ?? TimeSpan.FromHours(1)).RepeatForever()),
                j => j.WithIdentity("record", "test").DisallowConcurrentExecution());
        });
        builder.AddQuartzHostedService(o => o.WaitForJobsToComplete = true);
        return builder.Build();
    }

    private async Task<int> CountRunsAsync()
    {
        await using var cmd = DataSource.CreateCommand("select count(*) from job_runs");
        return (int)(long)(await cmd.ExecuteScalarAsync())!;
    }

    public sealed class RecordingJob(NpgsqlDataSource ds) : IJob
    {
        public async ValueTask Execute(IJobExecutionContext context, CancellationToken cancellationToken = default)
        {
            await using var cmd = ds.CreateCommand("insert into job_runs (instance) values (@i)");
            cmd.Parameters.AddWithValue("i", context.Scheduler.SchedulerInstanceId);
            await cmd.ExecuteNonQueryAsync(cancellationToken);
        }
    }

    private async Task<long> InsertEntryAsync(string state, TimeSpan? completedAgo, TimeSpan? createdAgo = null, TimeSpan? dueAgo = null,
        string? blockedBy = null, string? lastError = null)
    {
        await using var cmd = DataSource.CreateCommand("""
            insert into outbox_entries (resource_type, resource_id, operation, revision, payload, project_id, state,
                                        next_attempt_at, created_at, completed_at, blocked_by, last_error)
            values ('network', gen_random_uuid(), 'create', 1, '{}', 'p', @state,
                    now() - @due, now() - @created, now() - @completed, @blocked, @error)
            returning seq
            """);
        cmd.Parameters.AddWithValue("state", state);
        cmd.Parameters.AddWithValue("due", dueAgo ?? createdAgo ?? TimeSpan.Zero);
        cmd.Parameters.AddWithValue("created", createdAgo ?? completedAgo ?? TimeSpan.Zero);
        cmd.Parameters.Add(new NpgsqlParameter("completed", NpgsqlTypes.NpgsqlDbType.Interval) { Value = (object?)completedAgo ?? DBNull.Value });
        cmd.Parameters.Add(new NpgsqlParameter("blocked", NpgsqlTypes.NpgsqlDbType.Text) { Value = (object?)blockedBy ?? DBNull.Value });
        cmd.Parameters.Add(new NpgsqlParameter("error", NpgsqlTypes.NpgsqlDbType.Text) { Value = (object?)lastError ?? DBNull.Value });
        return (long)(await cmd.ExecuteScalarAsync())!;
    }

    private async Task<List<long>> SeqsAsync()
    {
        await using var cmd = DataSource.CreateCommand("select seq from outbox_entries order by seq");
        var seqs = new List<long>();
        await using var reader = await cmd.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            seqs.Add(reader.GetInt64(0));
        }
        return seqs;
    }
}
