using System.Diagnostics.Metrics;
using OutboxSync.Hosting;
using OutboxSync.Leases;

namespace OutboxSync.Worker.Drain;

/// <summary>Lease instruments on the project's one Meter: how often this replica wins, takes over and loses leases.</summary>
internal static class LeaseMetrics
{
    /// <summary>Lease stopped being trusted: the heartbeat found it gone (renew_failed), a token-guarded write found
    /// the token gone (guarded_write), the back end saw a newer token (stale_token), the local trust window ran
    /// out before a renewal (trust_expired), or the lease ran out after the drain's last write but before its
    /// release (release_missed).</summary>
    public const string RenewFailed = "renew_failed";
    public const string GuardedWrite = "guarded_write";
    public const string StaleToken = "stale_token";
    public const string TrustExpired = "trust_expired";
    public const string ReleaseMissed = "release_missed";

    public static readonly Counter<long> Acquisitions = Telemetry.Meter.CreateCounter<long>(
        "outboxsync.worker.lease.acquisitions", unit: "{lease}", description: "Resource leases won by this replica");

    public static readonly Counter<long> Takeovers = Telemetry.Meter.CreateCounter<long>(
        "outboxsync.worker.lease.takeovers", unit: "{lease}",
        description: "Leases won over an expired, unreleased lease of another replica (it died or stalled)");

    public static readonly Counter<long> Lost = Telemetry.Meter.CreateCounter<long>(
        "outboxsync.worker.lease.lost", unit: "{lease}", description: "Leases this replica stopped trusting mid-drain, by reason");

    public static void RecordAcquired(IReadOnlyCollection<ResourceLease> won)
    {
        if (won.Count == 0)
        {
            return;
        }
        Acquisitions.Add(won.Count);
        var takeovers = won.Count(l => l.IsTakeover);
        if (takeovers > 0)
        {
            Takeovers.Add(takeovers);
        }
    }

    public static void RecordLost(string reason) => Lost.Add(1, new KeyValuePair<string, object?>("reason", reason));

    /// <summary>Why an untrusted lease is untrusted: marked lost by a failed renewal, or its trust window ran out.</summary>
    public static string UntrustedReason(ResourceLease lease) => lease.IsLost ? RenewFailed : TrustExpired;
}
