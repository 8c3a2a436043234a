namespace OutboxSync.Resources;

/// <summary>The four resource kinds, with their API collection and table names.</summary>
public sealed record ResourceType(string Name, string Collection, string Table)
{
    public static readonly ResourceType Network = new("network", "networks", "networks");
    public static readonly ResourceType Subnet = new("subnet", "subnets", "subnets");
    public static readonly ResourceType Port = new("port", "ports", "ports");
    public static readonly ResourceType Router = new("router", "routers", "routers");

    public static readonly IReadOnlyList<ResourceType> All = [Network, Subnet, Port, Router];

    public static ResourceType? FromName(string name) => All.FirstOrDefault(t => t.Name == name);

    public static ResourceType? FromCollection(string collection) => All.FirstOrDefault(t => t.Collection == collection);

    public override string ToString() => Name;
}
