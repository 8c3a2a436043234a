using System.Globalization;

namespace OutboxSync.Chaos.Tests.Stack;

/// <summary>
/// The worker settings the chaos, failover and partition runs share: short leases and backoffs, so a fault hands
/// work over within seconds and the queue drains soon after the faults stop. Each run adds its own on top.
/// </summary>
public static class RunWorkerSettings
{
    public static Dictionary<string, string> For(string connection, string notificationConnection, Uri backend, string instanceId,
        TimeSpan attemptTimeout, TimeSpan safetyMargin) => new()
    {
        ["Database__ConnectionString"] = connection,
        ["Worker__NotificationConnectionString"] = notificationConnection,
        ["Backend__BaseUrl"] = backend.ToString(),
        ["Backend__AttemptTimeout"] = attemptTimeout.ToString("c", CultureInfo.InvariantCulture),
        ["Worker__InstanceId"] = instanceId,
        ["Worker__PollInterval"] = "00:00:00.500",
        ["Worker__Retry__BaseDelay"] = "00:00:00.200",
        ["Worker__Retry__MaxDelay"] = "00:00:05",
        ["Worker__Retry__OutageDelay"] = "00:00:01",
        ["Worker__Retry__BlockedRecheck"] = "00:00:02",
        ["Worker__Reconciliation__PollInterval"] = "00:00:01",
        ["Leases__Duration"] = ChaosSettings.LeaseDuration.ToString("c", CultureInfo.InvariantCulture),
        ["Leases__SafetyMargin"] = safetyMargin.ToString("c", CultureInfo.InvariantCulture),
        ["Logging__LogLevel__Default"] = "Warning",
    };
}
