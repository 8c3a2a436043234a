namespace OutboxSync.Resources;

/// <summary>Neutron's IPv6 address modes (neutron-lib <c>IPV6_MODES</c>).</summary>
public static class Ipv6Modes
{
    public const string Slaac = "slaac";
    public const string Dhcpv6Stateful = "dhcpv6-stateful";
    public const string Dhcpv6Stateless = "dhcpv6-stateless";

    public static readonly IReadOnlyList<string> All = [Dhcpv6Stateful, Dhcpv6Stateless, Slaac];

    /// <summary>A subnet whose hosts configure their own address (SLAAC) from its /64 prefix and their MAC: every
    /// port on it holds its EUI-64 address, and no port may ask for another.</summary>
    public static bool IsAutoAddress(string? addressMode) => addressMode is Slaac or Dhcpv6Stateless;
}
