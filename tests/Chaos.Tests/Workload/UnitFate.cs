namespace OutboxSync.Chaos.Tests.Workload;

/// <summary>How a unit ends: torn down completely, partly (interface and one port gone), or kept.</summary>
public enum UnitFate
{
    Kept,
    Partial,
    TornDown,
}
