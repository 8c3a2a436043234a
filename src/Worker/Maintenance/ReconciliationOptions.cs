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
}
