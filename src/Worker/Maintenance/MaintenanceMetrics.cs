using System.Diagnostics.Metrics;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Npgsql;
using OutboxSync.Hosting;

namespace OutboxSync.Worker.Maintenance;

/// <summary>One refresh of the queue gauges.</summary>
/// <param name="OldestDueAge">How long the oldest due entry has waited for a worker to claim it (claim lag).</param>
/// <param name="OldestPendingAge">How long the oldest unapplied change has waited since it was accepted, whether due,
/// backing off or blocked: what an outage or a stuck parent makes grow.</param>
public sealed record QueueGauges(long Pending, long Blocked, long Failed, TimeSpan OldestDueAge, TimeSpan OldestPendingAge);

/// <summary>
/// Queue-level gauges for alerting, refreshed by one query every 5 s or, with a deep backlog, less often (see
/// <see cref="NextRefreshIn"/>; partial indexes cover the live states): outbox depth by state, age of the oldest due entry and of the oldest unapplied change, stuck entries;
/// plus maintenance counters.
/// </summary>
public sealed partial class MaintenanceMetrics(NpgsqlDataSource dataSource, TimeProvider time, ILogger<MaintenanceMetrics> logger) : BackgroundService
{
    private const string DepthSql = """
        select count(*) filter (where state = 'pending' and blocked_by is null),
               count(*) filter (where state = 'pending' and blocked_by is not null),
               coalesce(extract(epoch from now() - min(next_attempt_at) filter (where next_attempt_at <= now())), 0)::float8,
               coalesce(extract(epoch from now() - min(created_at)), 0)::float8
        from outbox_entries where state = 'pending'
        """;

    private const string FailedSql = "select count(*) from outbox_entries where state = 'failed'";

    public static readonly Counter<long> RetentionDeleted = Telemetry.Meter.CreateCounter<long>(
        "outboxsync.maintenance.retention_deleted", unit: "{entry}", description: "Finished outbox entries deleted by retention");

    public static readonly Counter<long> LeasesSwept = Telemetry.Meter.CreateCounter<long>(
        "outboxsync.maintenance.leases_swept", unit: "{lease}", description: "Expired lease rows removed (holders that died without releasing)");

    private long _pending;
    private long _blocked;
    private long _failed;
    private double _oldestDueSeconds;
    private double _oldestPendingSeconds;

    /// <summary>Set by <see cref="StuckWorkReport"/> on each run.</summary>
    public int StuckEntries { get; set; }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        Telemetry.Meter.CreateObservableGauge("outboxsync.outbox.depth", () => new[]
        {
            new Measurement<long>(Interlocked.Read(ref _pending), new KeyValuePair<string, object?>("state", "pending")),
            new Measurement<long>(Interlocked.Read(ref _blocked), new KeyValuePair<string, object?>("state", "blocked")),
            new Measurement<long>(Interlocked.Read(ref _failed), new KeyValuePair<string, object?>("state", "failed")),
        }, unit: "{entry}", description: "Live outbox entries by state");
        Telemetry.Meter.CreateObservableGauge("outboxsync.outbox.oldest_due_age", () => Volatile.Read(ref _oldestDueSeconds),
            unit: "s", description: "How long the oldest due entry has waited to be claimed");
        Telemetry.Meter.CreateObservableGauge("outboxsync.outbox.oldest_pending_age", () => Volatile.Read(ref _oldestPendingSeconds),
            unit: "s", description: "How long the oldest unapplied change has waited since it was accepted");
        Telemetry.Meter.CreateObservableGauge("outboxsync.outbox.stuck", () => StuckEntries,
            unit: "{entry}", description: "Entries due for longer than Worker:Maintenance:StuckThreshold");

        while (!stoppingToken.IsCancellationRequested)
        {
            var started = time.GetTimestamp();
            try
            {
                await RefreshAsync(stoppingToken);
            }
            catch (Exception e) when (e is NpgsqlException or TimeoutException)
            {
                LogRefreshFailed(logger, e);
            }
            try
            {
                await Task.Delay(NextRefreshIn(time.GetElapsedTime(started)), time, stoppingToken);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    /// <summary>Every 5 s, or less often when the refresh itself is slow: the depth counts read every live entry, so
    /// with a deep backlog (100k pending: 72 ms per refresh, in every replica) they would otherwise be a cost of the
    /// drain that grows with the backlog. Waiting 100 times the refresh's duration keeps it under 1 % of a core.</summary>
    public static TimeSpan NextRefreshIn(TimeSpan refreshTook)
    {
        var proportional = refreshTook * 100;
        return proportional > RefreshInterval ? proportional : RefreshInterval;
    }

    public static readonly TimeSpan RefreshInterval = TimeSpan.FromSeconds(5);

    public async Task<QueueGauges> RefreshAsync(CancellationToken ct)
    {
        long pending, blocked;
        double oldestDue, oldestPending;
        await using (var cmd = dataSource.CreateCommand(DepthSql))
        await using (var reader = await cmd.ExecuteReaderAsync(ct))
        {
            await reader.ReadAsync(ct);
            (pending, blocked, oldestDue, oldestPending) = (reader.GetInt64(0), reader.GetInt64(1), reader.GetDouble(2), reader.GetDouble(3));
        }
        await using var failedCmd = dataSource.CreateCommand(FailedSql);
        var failed = (long)(await failedCmd.ExecuteScalarAsync(ct))!;

        Interlocked.Exchange(ref _pending, pending);
        Interlocked.Exchange(ref _blocked, blocked);
        Interlocked.Exchange(ref _failed, failed);
        Volatile.Write(ref _oldestDueSeconds, oldestDue);
        Volatile.Write(ref _oldestPendingSeconds, oldestPending);
        return new QueueGauges(pending, blocked, failed, TimeSpan.FromSeconds(oldestDue), TimeSpan.FromSeconds(oldestPending));
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not refresh the outbox gauges")]
    private static partial void LogRefreshFailed(ILogger logger, Exception e);
}
