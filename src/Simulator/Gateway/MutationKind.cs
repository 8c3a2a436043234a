namespace OutboxSync.Simulator.Gateway;

/// <summary>The five mutating routes; they differ in where the resource id comes from and whether there is a body.</summary>
internal enum MutationKind
{
    Create,
    Update,
    Delete,
    Attach,
    Detach,
}
