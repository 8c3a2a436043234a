namespace OutboxSync.Simulator.Gateway;

/// <summary>A stored object's address: collection plus id (ids are opaque and compared ordinally).</summary>
internal readonly record struct ResourceRef(string Collection, string Id)
{
    public override string ToString() => $"{Collection}/{Id}";
}
