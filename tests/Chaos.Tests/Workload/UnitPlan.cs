namespace OutboxSync.Chaos.Tests.Workload;

/// <summary>The calls of one unit, in the order one client makes them (parents before children, deletes last).</summary>
public sealed record UnitPlan(int Index, UnitFate Fate, IReadOnlyList<PlannedOperation> Operations);
