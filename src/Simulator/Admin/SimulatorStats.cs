namespace OutboxSync.Simulator.Admin;

/// <summary>Body of <c>GET /_sim/stats</c>.</summary>
internal sealed record SimulatorStats(
    IReadOnlyDictionary<string, long> Calls,
    IReadOnlyDictionary<string, long> Outcomes,
    IReadOnlyDictionary<string, int> Objects,
    int InFlight);
