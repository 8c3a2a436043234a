namespace OutboxSync.Resources;

/// <summary>
/// The resource kinds: <see cref="Name"/> is the singular (the outbox's resource_type and the JSON envelope of one),
/// <see cref="Collection"/> the URL segment (the API's and the back end's), <see cref="Key"/> the JSON envelope of a
/// list (Neutron's plural with underscores), <see cref="Table"/> the database table.
/// </summary>
public sealed record ResourceType(string Name, string Collection, string Table)
{
    public static readonly ResourceType Network = new("network", "networks", "networks");
    public static readonly ResourceType Subnet = new("subnet", "subnets", "subnets");
    public static readonly ResourceType Port = new("port", "ports", "ports");
    public static readonly ResourceType Router = new("router", "routers", "routers");
    public static readonly ResourceType SecurityGroup = new("security_group", "security-groups", "security_groups");
    public static readonly ResourceType SecurityGroupRule = new("security_group_rule", "security-group-rules", "security_group_rules");
    public static readonly ResourceType SubnetPool = new("subnetpool", "subnetpools", "subnetpools");

    public static readonly IReadOnlyList<ResourceType> All = [Network, Subnet, Port, Router, SecurityGroup, SecurityGroupRule, SubnetPool];

    /// <summary>The JSON key of a list of this kind (<c>security_groups</c> for <c>/v2.0/security-groups</c>).</summary>
    public string Key => Collection.Replace('-', '_');

    public static ResourceType? FromName(string name) => All.FirstOrDefault(t => t.Name == name);

    public static ResourceType? FromCollection(string collection) => All.FirstOrDefault(t => t.Collection == collection);

    public override string ToString() => Name;
}
