using System.Globalization;
using System.Net;
using System.Net.Sockets;
using OutboxSync.Api.Errors;
using OutboxSync.Api.Requests;
using OutboxSync.Resources;

namespace OutboxSync.Api.Endpoints;

/// <summary>
/// A security group rule's attributes as Neutron validates them (neutron-lib's security group definition and the
/// plugin's _validate_port_range / _validate_ip_prefix): direction, ethertype, protocol by name or number, port
/// ranges only where the protocol has ports, ICMP type and code, a remote prefix of the rule's ethertype or a
/// remote group, not both.
/// </summary>
public static class SecurityGroupRuleInput
{
    /// <summary>neutron-lib's IP_PROTOCOL_MAP: the names a rule may use, with their numbers.</summary>
    private static readonly Dictionary<string, int> Protocols = new(StringComparer.Ordinal)
    {
        ["ah"] = 51, ["dccp"] = 33, ["egp"] = 8, ["esp"] = 50, ["gre"] = 47, ["hopopt"] = 0, ["icmp"] = 1, ["igmp"] = 2,
        ["ip"] = 0, ["ipip"] = 4, ["ipv6-encap"] = 41, ["ipv6-frag"] = 44, ["ipv6-icmp"] = 58, ["icmpv6"] = 58,
        ["ipv6-nonxt"] = 59, ["ipv6-opts"] = 60, ["ipv6-route"] = 43, ["ospf"] = 89, ["pgm"] = 113, ["rsvp"] = 46,
        ["sctp"] = 132, ["tcp"] = 6, ["udp"] = 17, ["udplite"] = 136, ["vrrp"] = 112,
    };

    /// <summary>Protocols with ports (SG_PORT_PROTO_NUMS): tcp, udp, dccp, sctp, udplite.</summary>
    private static readonly HashSet<int> PortProtocols = [6, 17, 33, 132, 136];

    private const int Icmp = 1;
    private const int Icmpv6 = 58;

    /// <summary>The rule a create asks for; its group and remote group are checked by the caller, and the rule takes
    /// its group's project.</summary>
    public static SecurityGroupRule Parse(Attributes a, Auth.TenantContext tenant)
    {
        a.ReadOnly("id", "status", "status_reason", "revision_number", "created_at", "updated_at", "tags", "name");
        var groupId = a.Uuid("security_group_id")
            ?? throw NeutronException.BadRequest("Failed to parse request. Required attribute 'security_group_id' not specified");
        var rule = new SecurityGroupRule
        {
            Id = Guid.NewGuid(),
            SecurityGroupId = groupId,
            Description = a.Description() ?? "",
            Direction = Direction(a),
            Ethertype = Ethertype(a),
            Protocol = Protocol(a),
            PortRangeMin = Port(a, "port_range_min"),
            PortRangeMax = Port(a, "port_range_max"),
            RemoteGroupId = a.Uuid("remote_group_id", nullable: true),
        };
        rule.RemoteIpPrefix = Prefix(a, rule.Ethertype);
        tenant.OwnerOfNew(a.ProjectId());
        a.RejectUnknown();
        if (rule.RemoteIpPrefix is not null && rule.RemoteGroupId is not null)
        {
            throw NeutronException.BadRequest("Only remote_ip_prefix or remote_group_id may be provided.");
        }
        ValidatePorts(rule);
        if (rule.Protocol is { } p && Number(p) == Icmpv6 && rule.Ethertype == SecurityGroupRule.IPv4)
        {
            throw NeutronException.BadRequest($"Invalid ethertype {rule.Ethertype} for protocol {p}.");
        }
        return rule;
    }

    private static string Direction(Attributes a) => a.String("direction") switch
    {
        null => throw NeutronException.BadRequest("Failed to parse request. Required attribute 'direction' not specified"),
        SecurityGroupRule.Ingress => SecurityGroupRule.Ingress,
        SecurityGroupRule.Egress => SecurityGroupRule.Egress,
        var other => throw a.Invalid("direction", $"'{RequestBody.Truncate(other)}' is not in ['ingress', 'egress']"),
    };

    private static string Ethertype(Attributes a)
    {
        if (a.Raw("ethertype") is null)
        {
            return SecurityGroupRule.IPv4;
        }
        var text = a.String("ethertype")!;
        return text.ToUpperInvariant() switch
        {
            "IPV4" => SecurityGroupRule.IPv4,
            "IPV6" => SecurityGroupRule.IPv6,
            _ => throw a.Invalid("ethertype", $"'{RequestBody.Truncate(text)}' is not in ['IPv4', 'IPv6']"),
        };
    }

    /// <summary>A name (lower-cased) or a number 0–255 kept as text; null, absent or "any" for every protocol.</summary>
    private static string? Protocol(Attributes a)
    {
        var node = a.Raw("protocol");
        if (node is null)
        {
            return null;
        }
        var text = node.GetValueKind() == System.Text.Json.JsonValueKind.Number ? node.ToJsonString() : a.String("protocol")!;
        if (int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var number) && number is >= 0 and <= 255)
        {
            return number.ToString(CultureInfo.InvariantCulture);
        }
        var name = text.ToLowerInvariant();
        if (name == "any")
        {
            return null;
        }
        return Protocols.ContainsKey(name)
            ? name
            : throw NeutronException.BadRequest(
                $"Security group rule protocol {RequestBody.Truncate(text)} not supported. Only protocol values [None, {string.Join(", ", Protocols.Keys.Order(StringComparer.Ordinal))}] and integer representations [0 to 255] are supported.");
    }

    private static int? Port(Attributes a, string name)
    {
        var node = a.Raw(name);
        if (node is null)
        {
            return null;
        }
        var text = node.GetValueKind() == System.Text.Json.JsonValueKind.String ? node.GetValue<string>() : node.ToJsonString();
        return int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var port) && port <= 65535
            ? port
            : throw NeutronException.BadRequest($"Invalid value for port {RequestBody.Truncate(text)}.");
    }

    /// <summary>A CIDR (or a bare address, as a host prefix) of the rule's ethertype, in canonical form.</summary>
    private static string? Prefix(Attributes a, string ethertype)
    {
        if (a.Raw("remote_ip_prefix") is null)
        {
            return null;
        }
        var text = a.String("remote_ip_prefix")!;
        var slash = text.IndexOf('/', StringComparison.Ordinal);
        var addressText = slash < 0 ? text : text[..slash];
        if (!IPAddress.TryParse(addressText, out var address) || addressText.Contains('%', StringComparison.Ordinal))
        {
            throw a.Invalid("remote_ip_prefix", $"'{RequestBody.Truncate(text)}' is not a valid IP subnet");
        }
        var width = address.AddressFamily == AddressFamily.InterNetwork ? 32 : 128;
        var length = width;
        if (slash >= 0 && !(int.TryParse(text[(slash + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out length) && length <= width))
        {
            throw a.Invalid("remote_ip_prefix", $"'{RequestBody.Truncate(text)}' is not a valid IP subnet");
        }
        var family = width == 32 ? SecurityGroupRule.IPv4 : SecurityGroupRule.IPv6;
        if (family != ethertype)
        {
            throw NeutronException.BadRequest($"Conflicting value ethertype {ethertype} for CIDR {text}");
        }
        return $"{address}/{length}";
    }

    private static void ValidatePorts(SecurityGroupRule rule)
    {
        var (min, max) = (rule.PortRangeMin, rule.PortRangeMax);
        if (min is null && max is null)
        {
            return;
        }
        if (rule.Protocol is null)
        {
            throw NeutronException.BadRequest("Must also specify protocol if port range is given.");
        }
        var protocol = Number(rule.Protocol);
        if (PortProtocols.Contains(protocol))
        {
            if (min == 0 || max == 0)
            {
                throw NeutronException.BadRequest("Invalid value for port 0.");
            }
            if (min is not null && max is not null && min <= max)
            {
                return;
            }
            throw NeutronException.BadRequest("For TCP/UDP protocols, port_range_min must be <= port_range_max");
        }
        if (protocol is Icmp or Icmpv6)
        {
            foreach (var (value, attr, field) in new[] { (min, "port_range_min", "type"), (max, "port_range_max", "code") })
            {
                if (value is > 255)
                {
                    throw NeutronException.BadRequest($"Invalid value for ICMP {field} ({attr}) {value}. It must be 0 to 255.");
                }
            }
            if (min is null)
            {
                throw NeutronException.BadRequest($"ICMP code (port-range-max) {max} is provided but ICMP type (port-range-min) is missing.");
            }
            return;
        }
        throw NeutronException.BadRequest(
            $"Invalid protocol {rule.Protocol} for port range, only supported for TCP, UDP, UDPLITE, SCTP and DCCP.");
    }

    private static int Number(string protocol) =>
        Protocols.TryGetValue(protocol, out var n) ? n : int.Parse(protocol, CultureInfo.InvariantCulture);
}
