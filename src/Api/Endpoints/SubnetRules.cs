using System.Net;
using System.Text.Json.Nodes;
using OutboxSync.Api.Errors;
using OutboxSync.Api.Requests;
using OutboxSync.Ipam;
using OutboxSync.Resources;

namespace OutboxSync.Api.Endpoints;

/// <summary>Subnet validation as Neutron does it: CIDR, gateway, pools, DNS servers and host routes.</summary>
public static class SubnetRules
{
    /// <summary>IPv6 needs links of at least 1280 bytes (RFC 8200 §5).</summary>
    public const int Ipv6MinMtu = 1280;

    public static void EnsureMtuFits(Network network, int ipVersion)
    {
        if (ipVersion == 6 && network.Mtu < Ipv6MinMtu)
        {
            throw NeutronException.InvalidInput(
                $"IPv6 subnet cannot be created on network {network.Id} with MTU {network.Mtu}, less than {Ipv6MinMtu}");
        }
    }

    public static SubnetCidr Cidr(string? text, int ipVersion)
    {
        if (text is null)
        {
            throw NeutronException.BadRequest("Bad subnet request: a cidr must be specified.");
        }
        if (!SubnetCidr.TryParse(text, out var cidr, out var error))
        {
            throw NeutronException.BadRequest($"Invalid input for cidr. Reason: {error}.");
        }
        if (cidr.Version != ipVersion)
        {
            throw NeutronException.BadRequest($"Invalid input for operation: cidr '{cidr}' does not match the ip_version '{ipVersion}'.");
        }
        if ((cidr.Version == 4 && cidr.Prefix > 30) || (cidr.Version == 6 && cidr.Prefix > 126))
        {
            throw NeutronException.BadRequest($"Invalid input for operation: cidr '{cidr}' is too small for a subnet.");
        }
        return cidr;
    }

    public static IPAddress? Gateway(Attributes a, SubnetCidr cidr, IPAddress? current, bool isCreate)
    {
        if (!a.Has("gateway_ip"))
        {
            return isCreate ? cidr.DefaultGateway() : current;
        }
        var text = a.String("gateway_ip", 64, nullable: true);
        if (text is null)
        {
            return null;
        }
        if (!IpAddressMath.TryParse(text, out var gateway) || IpAddressMath.Version(gateway) != cidr.Version)
        {
            throw a.Invalid("gateway_ip", $"'{RequestBody.Truncate(text)}' is not a valid IP address");
        }
        if (!cidr.Contains(gateway) || IpAddressMath.ToNumber(gateway) == cidr.Range.First
            || (cidr.Version == 4 && IpAddressMath.ToNumber(gateway) == cidr.Range.Last))
        {
            throw NeutronException.BadRequest($"Invalid input for operation: Gateway IP {gateway} is not a valid host address of subnet {cidr}.");
        }
        return gateway;
    }

    public static IReadOnlyList<IpRange> Pools(Attributes a, SubnetCidr cidr, IPAddress? gateway, IReadOnlyList<IpRange>? current)
    {
        var array = a.Array("allocation_pools", 100);
        if (array is null)
        {
            return current ?? cidr.DefaultPools(gateway);
        }
        var pools = new List<IpRange>();
        foreach (var item in array)
        {
            if (item is not JsonObject pool || pool.Count != 2 || pool["start"] is not JsonValue s || pool["end"] is not JsonValue e
                || !s.TryGetValue(out string? startText) || !e.TryGetValue(out string? endText)
                || !IpAddressMath.TryParse(startText, out var start) || !IpAddressMath.TryParse(endText, out var end))
            {
                throw a.Invalid("allocation_pools", "each pool needs exactly 'start' and 'end' IP addresses");
            }
            if (!cidr.Contains(start) || !cidr.Contains(end))
            {
                throw NeutronException.BadRequest($"The allocation pool {start}-{end} spans beyond the subnet cidr {cidr}.");
            }
            var range = IpRange.Of(start, end);
            if (range.First > range.Last)
            {
                throw NeutronException.BadRequest($"Invalid input for operation: allocation pool {start}-{end} has its start after its end.");
            }
            var host = cidr.HostRange();
            if (!host.Contains(range.First) || !host.Contains(range.Last))
            {
                throw NeutronException.BadRequest($"The allocation pool {start}-{end} includes the network or broadcast address of {cidr}.");
            }
            if (pools.Where(p => p.Overlaps(range)).Select(p => (IpRange?)p).FirstOrDefault() is { } overlapping)
            {
                throw NeutronException.BadRequest($"Found overlapping allocation pools: {overlapping.Start}-{overlapping.End} and {start}-{end}.");
            }
            pools.Add(range);
        }
        if (gateway is not null && pools.Any(p => p.Contains(IpAddressMath.ToNumber(gateway))))
        {
            throw NeutronException.Conflict("GatewayConflictWithAllocationPools",
                $"Gateway ip {gateway} conflicts with allocation pool {string.Join(", ", pools.Select(p => $"{p.Start}-{p.End}"))}");
        }
        return pools;
    }

    public static JsonArray PoolsJson(IEnumerable<IpRange> pools) =>
        new(pools.Select(p => (JsonNode)new JsonObject { ["start"] = p.Start, ["end"] = p.End }).ToArray());

    public static IReadOnlyList<IpRange> ParsePools(Subnet subnet) => ParsePools(subnet.AllocationPools);

    /// <summary>A subnet's allocation_pools column (a JSON array of {"start","end"}).</summary>
    public static IReadOnlyList<IpRange> ParsePools(string allocationPools)
    {
        var array = JsonNode.Parse(allocationPools)!.AsArray();
        return array.Select(n => IpRange.Of(IPAddress.Parse((string)n!["start"]!), IPAddress.Parse((string)n["end"]!))).ToList();
    }

    public static List<string>? DnsServers(Attributes a, int version)
    {
        var list = a.StringList("dns_nameservers", 10, 64);
        if (list is null)
        {
            return null;
        }
        foreach (var server in list)
        {
            if (!IpAddressMath.TryParse(server, out _))
            {
                throw a.Invalid("dns_nameservers", $"'{RequestBody.Truncate(server)}' is not a valid nameserver");
            }
        }
        if (list.Distinct().Count() != list.Count)
        {
            throw a.Invalid("dns_nameservers", "duplicate nameserver");
        }
        _ = version;
        return list.Select(s => IPAddress.Parse(s).ToString()).ToList();
    }

    public static JsonArray? Routes(Attributes a, string name)
    {
        var array = a.Array(name, 100);
        if (array is null)
        {
            return null;
        }
        var result = new JsonArray();
        foreach (var item in array)
        {
            if (item is not JsonObject route || route.Count != 2 || route["destination"] is not JsonValue d || route["nexthop"] is not JsonValue n
                || !d.TryGetValue(out string? destination) || !n.TryGetValue(out string? nexthop)
                || !SubnetCidr.TryParse(destination, out var cidr, out _) || !IpAddressMath.TryParse(nexthop, out var hop)
                || cidr.Version != IpAddressMath.Version(hop))
            {
                throw a.Invalid(name, "each route needs a 'destination' CIDR and a 'nexthop' IP address of the same version");
            }
            var normalized = new JsonObject { ["destination"] = cidr.ToString(), ["nexthop"] = hop.ToString() };
            if (result.Any(r => JsonNode.DeepEquals(r, normalized)))
            {
                throw a.Invalid(name, $"duplicate route {destination} via {nexthop}");
            }
            result.Add(normalized);
        }
        return result;
    }

    /// <summary>
    /// <c>ipv6_ra_mode</c> and <c>ipv6_address_mode</c> on create, with Neutron's rules: each one of
    /// <see cref="Resources.Ipv6Modes.All"/> or null; IPv6 subnets only; DHCP enabled; equal when both are given; and an
    /// auto-address mode (SLAAC, DHCPv6-stateless) needs a /64, the prefix EUI-64 addresses are made for.
    /// </summary>
    public static (string? RaMode, string? AddressMode) Ipv6Modes(Attributes a, SubnetCidr cidr, bool enableDhcp)
    {
        var ra = Mode(a, "ipv6_ra_mode");
        var address = Mode(a, "ipv6_address_mode");
        if (ra is null && address is null)
        {
            return (null, null);
        }
        if (cidr.Version != 6)
        {
            throw NeutronException.InvalidInput("ipv6_ra_mode and ipv6_address_mode are only valid on IPv6 subnets");
        }
        if (!enableDhcp)
        {
            throw NeutronException.InvalidInput("ipv6_ra_mode or ipv6_address_mode cannot be set when enable_dhcp is set to False");
        }
        if (ra is not null && address is not null && ra != address)
        {
            throw NeutronException.InvalidInput(
                $"ipv6_ra_mode set to '{ra}' with ipv6_address_mode set to '{address}' is not valid. If both attributes are set, they must be the same value");
        }
        if (Resources.Ipv6Modes.IsAutoAddress(address) && cidr.Prefix != 64)
        {
            throw NeutronException.InvalidInput(
                $"Invalid CIDR {cidr} for IPv6 address mode. OpenStack uses the EUI-64 address format, which requires the prefix to be /64");
        }
        return (ra, address);
    }

    private static string? Mode(Attributes a, string name)
    {
        var mode = a.String(name, 32, nullable: true);
        return mode is null || Resources.Ipv6Modes.All.Contains(mode, StringComparer.Ordinal) ? mode
            : throw a.Invalid(name, $"'{RequestBody.Truncate(mode)}' is not in [{string.Join(", ", Resources.Ipv6Modes.All.Select(m => $"'{m}'"))}, None]");
    }
}
