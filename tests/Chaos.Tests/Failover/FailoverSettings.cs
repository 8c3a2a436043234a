namespace OutboxSync.Chaos.Tests.Failover;

/// <summary>
/// Size and timing of a failover run, from environment variables. The defaults are the CI size (about a minute per
/// run); scripts/failover.sh sets the full size.
/// </summary>
public sealed record FailoverSettings(int Operations, int Resources, TimeSpan Window, int Clients, int Seed, TimeSpan Detection, string? ReportDirectory)
{
    /// <summary>Accepted operations to issue at least (FAILOVER_OPERATIONS). CI default 400.</summary>
    public const int DefaultOperations = 400;

    /// <summary>Resources to create at least (FAILOVER_RESOURCES). CI default 80.</summary>
    public const int DefaultResources = 80;

    /// <summary>Seconds the workload is spread over (FAILOVER_SECONDS). CI default 40; the primary dies 40 % in.</summary>
    public const int DefaultSeconds = 40;

    /// <summary>How long after the primary dies the standby is promoted (FAILOVER_DETECTION_SECONDS): the time a
    /// failover manager takes to notice. Default 3.</summary>
    public const int DefaultDetectionSeconds = 3;

    public TimeSpan KillAt => Window * 0.4;

    public static FailoverSettings FromEnvironment() => new(
        Read("FAILOVER_OPERATIONS", DefaultOperations),
        Read("FAILOVER_RESOURCES", DefaultResources),
        TimeSpan.FromSeconds(Read("FAILOVER_SECONDS", DefaultSeconds)),
        Read("FAILOVER_CLIENTS", 4),
        Read("FAILOVER_SEED", Environment.TickCount & 0xFFFF),
        TimeSpan.FromSeconds(Read("FAILOVER_DETECTION_SECONDS", DefaultDetectionSeconds)),
        ChaosSettings.Text("FAILOVER_REPORTS"));

    private static int Read(string name, int fallback) => ChaosSettings.Read(name, fallback);

    public override string ToString() =>
        $"{Operations} operations on {Resources} resources over {Window.TotalSeconds:F0} s, {Clients} clients, primary killed at {KillAt.TotalSeconds:F0} s, promoted {Detection.TotalSeconds:F0} s later, seed {Seed}";
}
