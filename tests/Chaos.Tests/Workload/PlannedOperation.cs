namespace OutboxSync.Chaos.Tests.Workload;

/// <summary>One call a unit will make, on one of its resource slots (ids are known only once created).</summary>
public sealed record PlannedOperation(OperationKind Kind, ResourceSlot Slot);
