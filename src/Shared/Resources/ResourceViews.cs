using System.Globalization;
using System.Text.Json.Nodes;
using OutboxSync.Resources;

namespace OutboxSync.Resources;

/// <summary>Neutron's JSON view of each resource; the same view is the outbox snapshot sent to the back end.
/// What the API adds or hides per caller (a port's derived and admin-only binding attributes) is the API's.</summary>
public static class ResourceViews
{
    public static JsonObject Network(Network n, IEnumerable<Guid> subnetIds)
    {
        var o = Standard(n);
        o["admin_state_up"] = n.AdminStateUp;
        o["mtu"] = n.Mtu;
        o["shared"] = n.Shared;
        o["router:external"] = n.RouterExternal;
        o["subnets"] = new JsonArray(subnetIds.Select(id => (JsonNode)id.ToString()).ToArray());
        return o;
    }

    public static JsonObject Subnet(Subnet s)
    {
        var o = Standard(s);
        o["network_id"] = s.NetworkId.ToString();
        o["cidr"] = s.Cidr;
        o["ip_version"] = s.IpVersion;
        o["gateway_ip"] = s.GatewayIp;
        o["allocation_pools"] = JsonNode.Parse(s.AllocationPools);
        o["enable_dhcp"] = s.EnableDhcp;
        o["dns_nameservers"] = new JsonArray(s.DnsNameservers.Select(d => (JsonNode)d).ToArray());
        o["host_routes"] = JsonNode.Parse(s.HostRoutes);
        o["subnetpool_id"] = s.SubnetpoolId?.ToString();
        o["ipv6_address_mode"] = s.Ipv6AddressMode;
        o["ipv6_ra_mode"] = s.Ipv6RaMode;
        return o;
    }

    public static JsonObject Port(Port p)
    {
        var o = Standard(p);
        o["admin_state_up"] = p.AdminStateUp;
        o["network_id"] = p.NetworkId.ToString();
        o["mac_address"] = p.MacAddress;
        o["fixed_ips"] = new JsonArray(p.FixedIps
            .OrderBy(a => a.SubnetId).ThenBy(a => a.IpAddress, StringComparer.Ordinal)
            .Select(a => (JsonNode)new JsonObject { ["subnet_id"] = a.SubnetId.ToString(), ["ip_address"] = a.IpAddress })
            .ToArray());
        o["device_id"] = p.DeviceId;
        o["device_owner"] = p.DeviceOwner;
        // Where to plug it: the back end needs the binding, so it is part of the desired state sent there. The
        // derived binding:vif_type and binding:vif_details, and who may see what, are the API's (PortBindingViews).
        o[PortBinding.HostId] = p.BindingHostId;
        o[PortBinding.VnicType] = p.BindingVnicType;
        o[PortBinding.Profile] = JsonNode.Parse(p.BindingProfile);
        o["security_groups"] = new JsonArray(p.SecurityGroups.Select(g => (JsonNode)g.ToString()).ToArray());
        return o;
    }

    /// <summary>A group as the back end holds it: its rules are resources of their own. The API's view adds them
    /// (<c>security_group_rules</c>).</summary>
    public static JsonObject SecurityGroup(SecurityGroup g)
    {
        var o = Standard(g);
        o["stateful"] = g.Stateful;
        return o;
    }

    public static JsonObject SecurityGroupRule(SecurityGroupRule r)
    {
        var o = Standard(r);
        // Rules have no name in Neutron.
        o.Remove("name");
        o["security_group_id"] = r.SecurityGroupId.ToString();
        o["direction"] = r.Direction;
        o["ethertype"] = r.Ethertype;
        o["protocol"] = r.Protocol;
        o["port_range_min"] = r.PortRangeMin;
        o["port_range_max"] = r.PortRangeMax;
        o["remote_ip_prefix"] = r.RemoteIpPrefix;
        o["remote_group_id"] = r.RemoteGroupId?.ToString();
        return o;
    }

    public static JsonObject SubnetPool(SubnetPool p)
    {
        var o = Standard(p);
        // Neutron's subnet pools have no status: it is the back end's business here, as a network's is not.
        o.Remove("status");
        o.Remove("status_reason");
        o["ip_version"] = p.IpVersion;
        o["prefixes"] = new JsonArray(p.Prefixes.Select(x => (JsonNode)x).ToArray());
        o["min_prefixlen"] = p.MinPrefixlen;
        o["max_prefixlen"] = p.MaxPrefixlen;
        o["default_prefixlen"] = p.DefaultPrefixlen;
        o["shared"] = p.Shared;
        o["is_default"] = false;
        o["default_quota"] = null;
        o["address_scope_id"] = null;
        return o;
    }

    public static JsonObject Router(Router r)
    {
        var o = Standard(r);
        o["admin_state_up"] = r.AdminStateUp;
        o["external_gateway_info"] = r.ExternalGatewayInfo is null ? null : JsonNode.Parse(r.ExternalGatewayInfo);
        o["routes"] = JsonNode.Parse(r.Routes);
        return o;
    }

    /// <summary>Keeps only the attributes named in <c>fields=</c> (Neutron's field selection).</summary>
    public static JsonObject Select(JsonObject view, IReadOnlySet<string>? fields)
    {
        if (fields is null)
        {
            return view;
        }
        foreach (var key in view.Select(p => p.Key).Where(k => !fields.Contains(k)).ToList())
        {
            view.Remove(key);
        }
        return view;
    }

    public static string Timestamp(DateTimeOffset value) =>
        value.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);

    private static JsonObject Standard(StandardResource r) => new()
    {
        ["id"] = r.Id.ToString(),
        ["name"] = r.Name,
        ["description"] = r.Description,
        ["project_id"] = r.ProjectId,
        ["tenant_id"] = r.ProjectId,
        ["status"] = r.Status,
        ["status_reason"] = r.StatusReason,
        ["revision_number"] = r.RevisionNumber,
        ["created_at"] = Timestamp(r.CreatedAt),
        ["updated_at"] = Timestamp(r.UpdatedAt),
        ["tags"] = new JsonArray(r.Tags.Order(StringComparer.Ordinal).Select(t => (JsonNode)t).ToArray()),
    };
}
