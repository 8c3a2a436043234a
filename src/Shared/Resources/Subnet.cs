namespace OutboxSync.Resources;

public sealed class Subnet : StandardResource
{
    public Guid NetworkId { get; set; }
    public string Cidr { get; set; } = "";
    public int IpVersion { get; set; } = 4;
    public string? GatewayIp { get; set; }
    /// <summary>JSON array of {"start","end"}.</summary>
    public string AllocationPools { get; set; } = "[]";
    public bool EnableDhcp { get; set; } = true;
    public List<string> DnsNameservers { get; set; } = [];
    /// <summary>JSON array of {"destination","nexthop"}.</summary>
    public string HostRoutes { get; set; } = "[]";
    /// <summary>IPv6 only: <c>slaac</c>, <c>dhcpv6-stateful</c>, <c>dhcpv6-stateless</c> or null (<see cref="Ipv6Modes"/>).</summary>
    public string? Ipv6RaMode { get; set; }
    public string? Ipv6AddressMode { get; set; }
    /// <summary>The pool the CIDR was cut from, if any; the CIDR stays allocated there until the row is gone.</summary>
    public Guid? SubnetpoolId { get; set; }

    public override ResourceType Type => ResourceType.Subnet;
}
