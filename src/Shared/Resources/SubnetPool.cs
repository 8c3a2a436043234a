namespace OutboxSync.Resources;

/// <summary>
/// A subnet pool (Neutron's <c>subnet_allocation</c> extension): prefixes from which subnets are cut by CIDR or by
/// prefix length, never overlapping. Address scopes, default pools and quotas are not supported.
/// </summary>
public sealed class SubnetPool : StandardResource
{
    public int IpVersion { get; set; } = 4;

    /// <summary>Canonical CIDRs, compacted: none inside or beside another.</summary>
    public List<string> Prefixes { get; set; } = [];

    public int MinPrefixlen { get; set; }
    public int MaxPrefixlen { get; set; }
    public int DefaultPrefixlen { get; set; }

    /// <summary>Visible to, and usable by, every project; only an admin makes a shared pool.</summary>
    public bool Shared { get; set; }

    public override ResourceType Type => ResourceType.SubnetPool;
}
