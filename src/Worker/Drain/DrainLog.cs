using Microsoft.Extensions.Logging;
using OutboxSync.Leases;

namespace OutboxSync.Worker.Drain;

/// <summary>Source-generated log messages; every drain message names the resource, and seq/token where known.</summary>
internal static partial class DrainLog
{
    [LoggerMessage(1, LogLevel.Debug, "Applied {Operation} of resource {ResourceId} seq {Seq} revision {Revision} (token {Token}, {Covered} covered)")]
    public static partial void Applied(ILogger logger, string operation, Guid resourceId, long seq, long revision, long token, int covered);

    [LoggerMessage(2, LogLevel.Debug, "Cancelled never-sent create of resource {ResourceId}: delete seq {Seq} needs no call (token {Token})")]
    public static partial void Cancelled(ILogger logger, Guid resourceId, long seq, long token);

    [LoggerMessage(3, LogLevel.Debug, "Resource {ResourceId} seq {Seq} blocked: {Why} (token {Token})")]
    public static partial void Blocked(ILogger logger, Guid resourceId, long seq, string why, long token);

    [LoggerMessage(4, LogLevel.Warning, "Resource {ResourceId} seq {Seq} failed permanently: {Reason} (token {Token})")]
    public static partial void Failed(ILogger logger, Guid resourceId, long seq, string reason, long token);

    [LoggerMessage(5, LogLevel.Information, "Resource {ResourceId} seq {Seq} rescheduled in {Delay} (attempt counted: {Counted}): {Error} (token {Token})")]
    public static partial void Rescheduled(ILogger logger, Guid resourceId, long seq, TimeSpan delay, bool counted, string error, long token);

    [LoggerMessage(6, LogLevel.Warning, "Lost the lease on resource {ResourceId} (token {Token}); abandoning it without writing")]
    public static partial void LeaseLost(ILogger logger, Guid resourceId, long token);

    [LoggerMessage(7, LogLevel.Error, "Draining resource {ResourceId} (token {Token}) failed unexpectedly; it will be retried after its lease is released")]
    public static partial void DrainCrashed(ILogger logger, Exception exception, Guid resourceId, long token);

    [LoggerMessage(8, LogLevel.Error, "Drain pass failed; retrying after the poll interval")]
    public static partial void PassFailed(ILogger logger, Exception exception);

    [LoggerMessage(9, LogLevel.Warning, "Lease heartbeat failed; leases stay trusted only until their local deadline")]
    public static partial void HeartbeatFailed(ILogger logger, Exception exception);

    [LoggerMessage(10, LogLevel.Warning, "LISTEN outbox_wakeup connection failed; reconnecting in {Delay} (polling continues meanwhile)")]
    public static partial void ListenFailed(ILogger logger, Exception exception, TimeSpan delay);

    [LoggerMessage(11, LogLevel.Information, "Listening for outbox_wakeup")]
    public static partial void Listening(ILogger logger);

    [LoggerMessage(12, LogLevel.Information, "Drain {InstanceId} stopping: waiting up to {Timeout} for {InFlight} in-flight resources")]
    public static partial void Stopping(ILogger logger, string instanceId, TimeSpan timeout, int inFlight);

    [LoggerMessage(13, LogLevel.Warning, "Drain {InstanceId}: in-flight work did not finish within the shutdown timeout; cancelling it")]
    public static partial void ShutdownTimedOut(ILogger logger, string instanceId);

    [LoggerMessage(14, LogLevel.Information, "Drain {InstanceId} started (max in flight {MaxInFlight})")]
    public static partial void Started(ILogger logger, string instanceId, int maxInFlight);

    [LoggerMessage(15, LogLevel.Debug, "Stale revision for resource {ResourceId} seq {Seq}: a newer revision is already applied (token {Token})")]
    public static partial void StaleRevision(ILogger logger, Guid resourceId, long seq, long token);

    [LoggerMessage(16, LogLevel.Warning, "Left the lease on resource {ResourceId} (token {Token}) to run out instead of releasing it: a call is in doubt and may still run at the back end")]
    public static partial void LeftInDoubt(ILogger logger, Guid resourceId, long token);

    [LoggerMessage(17, LogLevel.Warning, "Lost the lease on resource {ResourceId} (token {Token}) before releasing it: it ran out first ({Found}), and another replica may hold it now")]
    public static partial void LostBeforeRelease(ILogger logger, Guid resourceId, long token, LeaseRelease found);

    [LoggerMessage(18, LogLevel.Information, "Releasing the lease on resource {ResourceId} (token {Token}) failed (attempt {Attempt}); retrying on another connection")]
    public static partial void ReleaseRetried(ILogger logger, Exception? exception, Guid resourceId, long token, int attempt);

    [LoggerMessage(19, LogLevel.Warning, "Left the lease on resource {ResourceId} (token {Token}) to run out: releasing it failed; the resource resumes within Leases:Duration")]
    public static partial void ReleaseFailed(ILogger logger, Exception exception, Guid resourceId, long token);

    [LoggerMessage(20, LogLevel.Debug, "Released the lease on resource {ResourceId} (token {Token})")]
    public static partial void Released(ILogger logger, Guid resourceId, long token);

    [LoggerMessage(21, LogLevel.Information, "Analysed outbox_entries: {Pending} entries pending where the planner estimated {Estimated}")]
    public static partial void AnalysedOutbox(ILogger logger, long pending, long estimated);

    [LoggerMessage(22, LogLevel.Warning, "Checking the outbox's planner statistics failed; the drain goes on")]
    public static partial void StatisticsCheckFailed(ILogger logger, Exception exception);
}
