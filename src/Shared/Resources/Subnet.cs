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

    public override ResourceType Type => ResourceType.Subnet;
}
