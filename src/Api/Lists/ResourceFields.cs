using OutboxSync.Resources;

namespace OutboxSync.Api.Lists;

/// <summary>Which attributes of each resource are scalar, so filters and sort keys can be validated.</summary>
public static class ResourceFields
{
    private static readonly FieldSpec[] Standard =
    [
        new("id", "id", FieldKind.Uuid),
        new("name", "name", FieldKind.Text),
        new("description", "description", FieldKind.Text),
        new("project_id", "project_id", FieldKind.Text),
        new("tenant_id", "project_id", FieldKind.Text),
        new("status", "status", FieldKind.Text),
        new("revision_number", "revision_number", FieldKind.Long),
        new("created_at", "created_at", FieldKind.Timestamp),
        new("updated_at", "updated_at", FieldKind.Timestamp),
    ];

    private static readonly Dictionary<string, IReadOnlyDictionary<string, FieldSpec>> ByType = new()
    {
        ["network"] = Index(
            new FieldSpec("admin_state_up", "admin_state_up", FieldKind.Bool),
            new FieldSpec("mtu", "mtu", FieldKind.Int),
            new FieldSpec("shared", "shared", FieldKind.Bool),
            new FieldSpec("router:external", "router_external", FieldKind.Bool)),
        ["subnet"] = Index(
            new FieldSpec("network_id", "network_id", FieldKind.Uuid),
            new FieldSpec("cidr", "cidr", FieldKind.Text),
            new FieldSpec("ip_version", "ip_version", FieldKind.Int),
            new FieldSpec("gateway_ip", "gateway_ip", FieldKind.Text, Sortable: false),
            new FieldSpec("enable_dhcp", "enable_dhcp", FieldKind.Bool),
            new FieldSpec("ipv6_ra_mode", "ipv6_ra_mode", FieldKind.Text),
            new FieldSpec("ipv6_address_mode", "ipv6_address_mode", FieldKind.Text),
            new FieldSpec("subnetpool_id", "subnetpool_id", FieldKind.Uuid),
            // Neutron filters subnets by their network's shared flag.
            new FieldSpec("shared", "shared", FieldKind.Bool, Sortable: false,
                Expression: "(select n.shared from networks n where n.id = t.network_id)")),
        ["port"] = Index(
            new FieldSpec("admin_state_up", "admin_state_up", FieldKind.Bool),
            new FieldSpec("network_id", "network_id", FieldKind.Uuid),
            new FieldSpec("mac_address", "mac_address", FieldKind.Text),
            new FieldSpec("device_id", "device_id", FieldKind.Text),
            new FieldSpec("device_owner", "device_owner", FieldKind.Text),
            // Nova lists the ports bound to a host.
            new FieldSpec(PortBinding.HostId, "binding_host_id", FieldKind.Text, AdminOnly: true),
            new FieldSpec(PortBinding.VnicType, "binding_vnic_type", FieldKind.Text),
            // port-security-groups-filtering: the ports that use any of the groups given.
            new FieldSpec("security_groups", "security_groups", FieldKind.UuidList, Sortable: false)),
        ["router"] = Index(
            new FieldSpec("admin_state_up", "admin_state_up", FieldKind.Bool)),
        ["security_group"] = Index(
            new FieldSpec("stateful", "stateful", FieldKind.Bool)),
        ["subnetpool"] = Index(
            new FieldSpec("ip_version", "ip_version", FieldKind.Int),
            new FieldSpec("shared", "shared", FieldKind.Bool),
            new FieldSpec("min_prefixlen", "min_prefixlen", FieldKind.Int),
            new FieldSpec("max_prefixlen", "max_prefixlen", FieldKind.Int),
            new FieldSpec("default_prefixlen", "default_prefixlen", FieldKind.Int),
            // Default pools are not supported: none is the default (`openstack subnet pool list --default`).
            new FieldSpec("is_default", "is_default", FieldKind.Bool, Sortable: false, Expression: "false")),
        ["security_group_rule"] = Index(
            new FieldSpec("security_group_id", "security_group_id", FieldKind.Uuid),
            new FieldSpec("direction", "direction", FieldKind.Text),
            new FieldSpec("ethertype", "ethertype", FieldKind.Text),
            new FieldSpec("protocol", "protocol", FieldKind.Text),
            new FieldSpec("port_range_min", "port_range_min", FieldKind.Int),
            new FieldSpec("port_range_max", "port_range_max", FieldKind.Int),
            new FieldSpec("remote_ip_prefix", "remote_ip_prefix", FieldKind.Text),
            new FieldSpec("remote_group_id", "remote_group_id", FieldKind.Uuid)),
    };

    public static IReadOnlyDictionary<string, FieldSpec> For(ResourceType type) => ByType[type.Name];

    private static Dictionary<string, FieldSpec> Index(params FieldSpec[] specific) =>
        Standard.Concat(specific).ToDictionary(f => f.Name, StringComparer.Ordinal);
}
