using Microsoft.Extensions.Logging;
using Quartz;

namespace OutboxSync.Worker.Maintenance;

// Thin Quartz shells: each job runs one testable operation. [DisallowConcurrentExecution] plus the clustered
// store means one execution at a time across every replica.

[DisallowConcurrentExecution]
public sealed partial class RetentionJob(OutboxRetention retention, ILogger<RetentionJob> logger) : IJob
{
    public async ValueTask Execute(IJobExecutionContext context, CancellationToken cancellationToken = default)
    {
        var result = await retention.RunOnceAsync(cancellationToken);
        MaintenanceMetrics.RetentionDeleted.Add(result.Deleted);
        if (result.Deleted > 0)
        {
            LogDeleted(logger, result.Deleted, result.Batches);
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Retention deleted {Deleted} finished outbox entries in {Batches} batches")]
    private static partial void LogDeleted(ILogger logger, int deleted, int batches);
}

[DisallowConcurrentExecution]
public sealed partial class LeaseSweepJob(ExpiredLeaseSweep sweep, ILogger<LeaseSweepJob> logger) : IJob
{
    public async ValueTask Execute(IJobExecutionContext context, CancellationToken cancellationToken = default)
    {
        var result = await sweep.RunOnceAsync(cancellationToken);
        MaintenanceMetrics.LeasesSwept.Add(result.Removed);
        if (result.Removed > 0)
        {
            LogSwept(logger, result.Removed);
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Swept {Removed} expired leases")]
    private static partial void LogSwept(ILogger logger, int removed);
}

[DisallowConcurrentExecution]
public sealed class StuckWorkJob(StuckWorkReport report) : IJob
{
    public async ValueTask Execute(IJobExecutionContext context, CancellationToken cancellationToken = default) =>
        await report.RunOnceAsync(cancellationToken);
}

[DisallowConcurrentExecution]
public sealed class ScheduledReconciliationJob(ScheduledReconciliation reconciliation) : IJob
{
    public async ValueTask Execute(IJobExecutionContext context, CancellationToken cancellationToken = default) =>
        await reconciliation.RunOnceAsync(cancellationToken);
}
