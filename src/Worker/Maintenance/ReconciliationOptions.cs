using System.ComponentModel.DataAnnotations;

namespace OutboxSync.Worker.Maintenance;

/// <summary>Executing operator-requested reconciliation runs (section <c>Worker:Reconciliation</c>).</summary>
public sealed class ReconciliationOptions
{
    public const string Section = "Worker:Reconciliation";

    /// <summary>Whether this replica executes requested runs at all.
    /// <value>The default value is true.</value></summary>
    public bool Enabled { get; set; } = true;

    /// <summary>How often to look for a requested run.
    /// <value>The default value is 5 seconds.</value></summary>
    [Range(typeof(TimeSpan), "00:00:00.050", "01:00:00")]
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Objects per back-end list page.
    /// <value>The default value is 500.</value></summary>
    [Range(1, 10000)]
    public int PageSize { get; set; } = 500;

    /// <summary>A run still "running" after this long is presumed abandoned (its replica died) and marked failed.
    /// <value>The default value is 15 minutes.</value></summary>
    [Range(typeof(TimeSpan), "00:00:10", "1.00:00:00")]
    public TimeSpan AbandonedAfter { get; set; } = TimeSpan.FromMinutes(15);

    /// <summary>Pause between two back-end list pages, so a run never competes with the drain at full speed.
    /// <value>The default value is 20 milliseconds.</value></summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:01:00")]
    public TimeSpan PagePause { get; set; } = TimeSpan.FromMilliseconds(20);

    /// <summary>Whether a run enqueues repairs for what it finds (otherwise it only reports).
    /// <value>The default value is true.</value></summary>
    public bool Repair { get; set; } = true;

    /// <summary>At most this many repairs per run; the rest are reported as skipped and found again by the next run,
    /// so a back end that lost everything is refilled in bounded steps alongside normal work.
    /// <value>The default value is 1000.</value></summary>
    [Range(0, 1_000_000)]
    public int MaxRepairsPerRun { get; set; } = 1000;

    /// <summary>Retries of a back-end list page read that failed (network error or timeout) within a run.
    /// <value>The default value is 5.</value></summary>
    [Range(0, 20)]
    public int PageReadRetries { get; set; } = 5;

    /// <summary>Wait before the first retry of a page read; it doubles with each retry (0.2 s to 3.2 s by default).
    /// <value>The default value is 200 milliseconds.</value></summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:01:00")]
    public TimeSpan PageReadRetryDelay { get; set; } = TimeSpan.FromMilliseconds(200);
}
