using System.Diagnostics.Metrics;
using OutboxSync.Hosting;

namespace OutboxSync.Worker.Drain;

/// <summary>The drain's instruments on the project's one Meter (exported with the rest at /metrics).</summary>
internal static class DrainMetrics
{
    /// <summary>Finished drain steps by outcome: applied, cancelled, blocked, rescheduled, failed, lease_lost.</summary>
    public static readonly Counter<long> Steps = Telemetry.Meter.CreateCounter<long>(
        "outboxsync.worker.steps", unit: "{step}", description: "Drain steps by outcome");

    /// <summary>Back-end calls (retries included) by outcome kind, with their duration.</summary>
    public static readonly Histogram<double> CallDuration = Telemetry.Meter.CreateHistogram<double>(
        "outboxsync.worker.backend.duration", unit: "s", description: "Back-end step duration, in-call retries included");

    /// <summary>Entries confirmed without a call of their own: their change went out folded into a later entry's
    /// call (or a never-sent create was cancelled together with its delete).</summary>
    public static readonly Counter<long> Coalesced = Telemetry.Meter.CreateCounter<long>(
        "outboxsync.worker.coalesced", unit: "{entry}", description: "Entries folded into another entry's back-end call");

    /// <summary>Resources being drained by this replica right now.</summary>
    public static readonly UpDownCounter<long> InFlight = Telemetry.Meter.CreateUpDownCounter<long>(
        "outboxsync.worker.in_flight", unit: "{resource}", description: "Resources drained concurrently by this replica");

    public static void Record(ResourceDrainSummary summary)
    {
        Add("applied", summary.Applied);
        Add("cancelled", summary.Cancelled);
        Add("blocked", summary.Blocked);
        Add("rescheduled", summary.Rescheduled);
        Add("failed", summary.Failed);
        Add("lease_lost", summary.LeaseLost ? 1 : 0);
        if (summary.LeaseLost)
        {
            LeaseMetrics.RecordLost(summary.LostReason ?? LeaseMetrics.TrustExpired);
        }
    }

    public static void RecordCoalesced(int covered)
    {
        if (covered > 0)
        {
            Coalesced.Add(covered);
        }
    }

    private static void Add(string outcome, int count)
    {
        if (count > 0)
        {
            Steps.Add(count, new KeyValuePair<string, object?>("outcome", outcome));
        }
    }
}
