namespace OutboxSync.Chaos.Tests.Workload;

/// <summary>
/// Splits the run into units of <see cref="ResourcesPerUnit"/> resources. Every unit creates its resources top-down,
/// renames them (spread between the creates, so many renames land while the create is still pending), and then
/// keeps them, tears down part of them, or deletes them bottom-up. Renames are added until the run reaches the
/// requested number of operations.
/// </summary>
public static class WorkloadPlan
{
    public const int ResourcesPerUnit = 9;

    private static readonly PlannedOperation[] Creates =
    [
        new(OperationKind.Create, ResourceSlot.Network),
        new(OperationKind.Create, ResourceSlot.SecurityGroup),
        new(OperationKind.Create, ResourceSlot.SubnetA),
        new(OperationKind.Create, ResourceSlot.SubnetB),
        new(OperationKind.Create, ResourceSlot.Port1),
        new(OperationKind.Create, ResourceSlot.Port2),
        new(OperationKind.Create, ResourceSlot.Port3),
        new(OperationKind.Create, ResourceSlot.Router),
        new(OperationKind.AddInterface, ResourceSlot.Interface),
    ];

    // Bottom-up: the interface (and its port) before the router and subnet B, ports before their subnets and the
    // security group they use (its delete takes its rules); the network's delete cascades to subnet B.
    private static readonly PlannedOperation[] TearDown =
    [
        new(OperationKind.RemoveInterface, ResourceSlot.Interface),
        new(OperationKind.Delete, ResourceSlot.Port1),
        new(OperationKind.Delete, ResourceSlot.Port2),
        new(OperationKind.Delete, ResourceSlot.Port3),
        new(OperationKind.Delete, ResourceSlot.SecurityGroup),
        new(OperationKind.Delete, ResourceSlot.Router),
        new(OperationKind.Delete, ResourceSlot.SubnetA),
        new(OperationKind.Delete, ResourceSlot.Network),
    ];

    private static readonly PlannedOperation[] PartialTearDown =
    [
        new(OperationKind.RemoveInterface, ResourceSlot.Interface),
        new(OperationKind.Delete, ResourceSlot.Port1),
    ];

    public static IReadOnlyList<UnitPlan> Build(int operations, int resources, Random random)
    {
        var units = (resources + ResourcesPerUnit - 1) / ResourcesPerUnit;
        var fates = Enumerable.Range(0, units)
            .Select(_ => random.NextDouble() switch { < 0.35 => UnitFate.TornDown, < 0.7 => UnitFate.Partial, _ => UnitFate.Kept })
            .ToList();
        var fixedOperations = fates.Sum(f => Creates.Length + Deletes(f).Length);
        var renames = Math.Max(0, operations - fixedOperations);
        var plans = new List<UnitPlan>(units);
        for (var u = 0; u < units; u++)
        {
            var operationsOfUnit = Creates.ToList();
            var renamesOfUnit = renames / units + (u < renames % units ? 1 : 0);
            for (var r = 0; r < renamesOfUnit; r++)
            {
                var slot = (ResourceSlot)random.Next(ResourceSlot.SecurityGroup - ResourceSlot.Network + 1);
                var created = operationsOfUnit.FindIndex(o => o.Slot == slot && o.Kind is OperationKind.Create or OperationKind.AddInterface);
                operationsOfUnit.Insert(random.Next(created + 1, operationsOfUnit.Count + 1), new PlannedOperation(OperationKind.Update, slot));
            }
            operationsOfUnit.AddRange(Deletes(fates[u]));
            plans.Add(new UnitPlan(u, fates[u], operationsOfUnit));
        }
        return plans;
    }

    private static PlannedOperation[] Deletes(UnitFate fate) => fate switch
    {
        UnitFate.TornDown => TearDown,
        UnitFate.Partial => PartialTearDown,
        _ => [],
    };
}
