namespace OutboxSync.Chaos.Tests.Workload;

/// <summary>The mutating Neutron calls the workload makes.</summary>
public enum OperationKind
{
    Create,
    Update,
    Delete,
    AddInterface,
    RemoveInterface,
}
