namespace OutboxSync.Resources;

/// <summary>One rule of a security group. Rules are created and deleted, never changed (as in Neutron).</summary>
public sealed class SecurityGroupRule : StandardResource
{
    public const string Ingress = "ingress";
    public const string Egress = "egress";
    public const string IPv4 = "IPv4";
    public const string IPv6 = "IPv6";

    public Guid SecurityGroupId { get; set; }
    public string Direction { get; set; } = Ingress;
    public string Ethertype { get; set; } = IPv4;

    /// <summary>A protocol name or a number 0–255 as text; null for any.</summary>
    public string? Protocol { get; set; }
    public int? PortRangeMin { get; set; }
    public int? PortRangeMax { get; set; }
    public string? RemoteIpPrefix { get; set; }
    public Guid? RemoteGroupId { get; set; }

    public override ResourceType Type => ResourceType.SecurityGroupRule;
}
