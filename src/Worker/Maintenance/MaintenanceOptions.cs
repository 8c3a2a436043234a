using System.ComponentModel.DataAnnotations;

namespace OutboxSync.Worker.Maintenance;

/// <summary>Clustered maintenance jobs (section <c>Worker:Maintenance</c>); each fires once across all replicas.</summary>
public sealed class MaintenanceOptions
{
    public const string Section = "Worker:Maintenance";

    /// <summary>Run the Quartz scheduler in this replica. <value>Default: true.</value></summary>
    public bool Enabled { get; set; } = true;

    /// <summary>Finished entries (done, superseded, discarded) older than this are deleted. <value>Default: 7 days.</value></summary>
    [Range(typeof(TimeSpan), "00:00:01", "3650.00:00:00")]
    public TimeSpan RetentionWindow { get; set; } = TimeSpan.FromDays(7);

    /// <summary>Rows deleted per retention statement; small batches keep locks short. <value>Default: 1000.</value></summary>
    [Range(1, 100_000)]
    public int RetentionBatchSize { get; set; } = 1000;

    /// <summary>How often retention runs. <value>Default: 10 minutes.</value></summary>
    [Range(typeof(TimeSpan), "00:00:01", "1.00:00:00")]
    public TimeSpan RetentionInterval { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>How often expired lease rows are swept. <value>Default: 1 minute.</value></summary>
    [Range(typeof(TimeSpan), "00:00:01", "1.00:00:00")]
    public TimeSpan LeaseSweepInterval { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>An entry due for longer than this is reported as stuck. <value>Default: 5 minutes.</value></summary>
    [Range(typeof(TimeSpan), "00:00:01", "30.00:00:00")]
    public TimeSpan StuckThreshold { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>How often stuck work is looked for. <value>Default: 1 minute.</value></summary>
    [Range(typeof(TimeSpan), "00:00:01", "1.00:00:00")]
    public TimeSpan StuckCheckInterval { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>How often a full reconciliation is requested. <value>Default: 1 hour.</value></summary>
    [Range(typeof(TimeSpan), "00:00:10", "30.00:00:00")]
    public TimeSpan ReconciliationInterval { get; set; } = TimeSpan.FromHours(1);

    /// <summary>Quartz cluster check-in interval; a replica silent for longer has its jobs recovered.
    /// <value>Default: 10 seconds.</value></summary>
    [Range(typeof(TimeSpan), "00:00:01", "00:10:00")]
    public TimeSpan ClusterCheckinInterval { get; set; } = TimeSpan.FromSeconds(10);
}
