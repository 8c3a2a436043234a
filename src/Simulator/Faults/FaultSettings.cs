namespace OutboxSync.Simulator.Faults;

/// <summary>
/// One complete fault plan. Bound from <c>Simulator:Faults</c> at start and serialized snake_case by
/// <c>/_sim/faults</c>. A published instance is never mutated; changes go through <see cref="FaultPlan"/>.
/// </summary>
internal sealed class FaultSettings
{
    /// <summary>Upper bound for every millisecond field, so a typo cannot park calls for days.</summary>
    public const int MaxMilliseconds = 3_600_000;

    public int LatencyMinMs { get; set; }

    public int LatencyMaxMs { get; set; }

    public double FailureRate { get; set; }

    public double FailureAfterApplyRate { get; set; }

    public double ResetRate { get; set; }

    public double HangRate { get; set; }

    public int HangMs { get; set; } = 30_000;

    public bool Outage { get; set; }

    public string? RejectNameSubstring { get; set; } = "reject";

    public double RejectRate { get; set; }

    public int? Seed { get; set; }

    public FaultSettings Copy() => (FaultSettings)MemberwiseClone();

    /// <summary>Returns why the plan is unusable, or null when it is fine.</summary>
    public string? Validate()
    {
        if (LatencyMinMs is < 0 or > MaxMilliseconds)
        {
            return $"latency_min_ms must be between 0 and {MaxMilliseconds}";
        }

        if (LatencyMaxMs is < 0 or > MaxMilliseconds)
        {
            return $"latency_max_ms must be between 0 and {MaxMilliseconds}";
        }

        if (LatencyMaxMs < LatencyMinMs)
        {
            return "latency_max_ms must not be below latency_min_ms (set both together)";
        }

        if (HangMs is < 0 or > MaxMilliseconds)
        {
            return $"hang_ms must be between 0 and {MaxMilliseconds}";
        }

        return RateProblem("failure_rate", FailureRate)
            ?? RateProblem("failure_after_apply_rate", FailureAfterApplyRate)
            ?? RateProblem("reset_rate", ResetRate)
            ?? RateProblem("hang_rate", HangRate)
            ?? RateProblem("reject_rate", RejectRate);
    }

    private static string? RateProblem(string name, double rate) =>
        rate is >= 0 and <= 1 ? null : $"{name} must be between 0 and 1";
}
