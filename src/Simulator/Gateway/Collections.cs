namespace OutboxSync.Simulator.Gateway;

/// <summary>The collection names the gateway serves; router interfaces are a nested one.</summary>
internal static class Collections
{
    public const string Networks = "networks";
    public const string Subnets = "subnets";
    public const string Ports = "ports";
    public const string Routers = "routers";
    public const string Interfaces = "interfaces";
    public const string SecurityGroups = "security-groups";
    public const string SecurityGroupRules = "security-group-rules";
    public const string SubnetPools = "subnetpools";

    /// <summary>Collections reachable as <c>/v1/{collection}</c>.</summary>
    public static readonly IReadOnlyList<string> Resources = [Networks, Subnets, Ports, Routers, SecurityGroups, SecurityGroupRules, SubnetPools];

    /// <summary>Every collection the inventory holds, in reporting order.</summary>
    public static readonly IReadOnlyList<string> All = [Networks, Subnets, Ports, Routers, Interfaces, SecurityGroups, SecurityGroupRules, SubnetPools];

    public static bool IsResource(string collection) => Resources.Contains(collection, StringComparer.Ordinal);

    public static bool IsKnown(string collection) => All.Contains(collection, StringComparer.Ordinal);

    /// <summary>Stats label for a route value; unknown names share one label so the stats stay bounded.</summary>
    public static string LabelFor(string collection) => IsKnown(collection) ? collection : "unknown";
}
