using System.ComponentModel.DataAnnotations;

namespace OutboxSync.Worker.Drain;

/// <summary>The drain's concurrency and pacing (section <c>Worker</c>).</summary>
public sealed class DrainOptions
{
    public const string Section = "Worker";

    /// <summary>This replica's identity in leases and worker_replicas; unique per process.
    /// <value>The default is "host-pid-random".</value></summary>
    public string InstanceId { get; set; } = "";

    /// <summary>Resources drained concurrently by this replica (each under its own lease).
    /// <value>The default value is 32.</value></summary>
    [Range(1, 4096)]
    public int MaxInFlight { get; set; } = 32;

    /// <summary>Longest wait between claim passes when no notification arrives (the polling fallback).
    /// <value>The default value is 1 second.</value></summary>
    [Range(typeof(TimeSpan), "00:00:00.010", "00:10:00")]
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Most resources claimed by one pass.
    /// <value>The default value is 64.</value></summary>
    [Range(1, 10000)]
    public int BatchSize { get; set; } = 64;

    /// <summary>Resources claimed beyond the free slots while the backlog is deeper than a claim takes. They wait
    /// (leased, renewed) for a slot, and a slot that frees starts the next of them with no claim in between, so a
    /// deep backlog costs one claim per this many finished resources rather than one per resource. Taken only while
    /// the last claim found more due than it asked for, so a shallow backlog is never held back behind busy slots.
    /// 0 claims for free slots only.
    /// <value>The default value is 8.</value></summary>
    [Range(0, 4096)]
    public int ClaimAhead { get; set; } = 8;

    /// <summary>Pending entries of one resource read per step (coalescing looks no further).
    /// <value>The default value is 100.</value></summary>
    [Range(1, 10000)]
    public int BacklogReadLimit { get; set; } = 100;

    /// <summary>While a claim finds more due than it takes, how often this replica asks the database whether its
    /// planner still sees the pending entries, and to analyse outbox_entries when it does not (migrations/014).
    /// Statistics taken while the outbox was drained make every claim of a burst read the whole backlog. Zero turns
    /// the check off (autoanalyze alone then decides).
    /// <value>The default value is 2 seconds.</value></summary>
    [Range(typeof(TimeSpan), "00:00:00", "01:00:00")]
    public TimeSpan StatisticsCheckInterval { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>On stop, how long in-flight calls may run before they are cancelled and leases released.
    /// <value>The default value is 20 seconds.</value></summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:10:00")]
    public TimeSpan ShutdownTimeout { get; set; } = TimeSpan.FromSeconds(20);

    /// <summary>Connection string for LISTEN outbox_wakeup. Must reach PostgreSQL directly (not a transaction-pooling
    /// PgBouncer, which cannot keep a LISTEN).
    /// <value>The default is Database:ConnectionString.</value></summary>
    public string? NotificationConnectionString { get; set; }

    /// <summary>Whether to LISTEN for outbox_wakeup at all; polling alone still drains everything.
    /// <value>The default value is true.</value></summary>
    public bool ListenForNotifications { get; set; } = true;

    public static string DefaultInstanceId() =>
        $"{Environment.MachineName}-{Environment.ProcessId}-{Guid.NewGuid().ToString("N")[..6]}";
}
