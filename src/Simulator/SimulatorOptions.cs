using OutboxSync.Simulator.Faults;

namespace OutboxSync.Simulator;

/// <summary>Configuration section <c>Simulator</c>.</summary>
internal sealed class SimulatorOptions
{
    public const string SectionName = "Simulator";

    public const string DefaultUrl = "http://127.0.0.1:5199";

    /// <summary>How many (resource id, Idempotency-Key) results are remembered; oldest are forgotten first.</summary>
    public int IdempotencyCacheCapacity { get; set; } = 100_000;

    /// <summary>How many mutating calls the call log keeps; oldest are dropped first.</summary>
    public int CallLogCapacity { get; set; } = 200_000;

    /// <summary>The fault plan in force at start; <c>PUT /_sim/faults</c> changes it later.</summary>
    public FaultSettings Faults { get; set; } = new();
}
