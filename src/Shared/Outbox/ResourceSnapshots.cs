using System.Text.Json.Nodes;
using Microsoft.EntityFrameworkCore;
using OutboxSync.Persistence;
using OutboxSync.Resources;

namespace OutboxSync.Outbox;

/// <summary>
/// The desired state an outbox entry carries for a resource's current rows, and the parents it depends on. A user
/// request renders its snapshot as it goes; this is for entries written outside one (operator resync,
/// reconciliation repair), so they carry exactly what a request at this revision would have carried.
/// </summary>
public static class ResourceSnapshots
{
    /// <summary>A router-interface port as the back end holds it: the port's view plus the router, the subnet and the
    /// port's address on that subnet.</summary>
    public static JsonObject Interface(Port port, Guid routerId, Guid subnetId)
    {
        var view = ResourceViews.Port(port);
        view["router_id"] = routerId.ToString();
        view["subnet_id"] = subnetId.ToString();
        view["ip_address"] = port.FixedIps.FirstOrDefault(f => f.SubnetId == subnetId)?.IpAddress;
        return view;
    }

    /// <summary>A port's parents: its network, the subnets of its addresses and its security groups.</summary>
    public static IEnumerable<Guid> PortParents(Port port) =>
        port.FixedIps.Select(a => a.SubnetId).Prepend(port.NetworkId).Concat(port.SecurityGroups);

    /// <summary>A subnet's parents: its network and the pool its CIDR was cut from.</summary>
    public static List<Guid> SubnetParents(Subnet subnet) =>
        subnet.SubnetpoolId is { } pool ? [subnet.NetworkId, pool] : [subnet.NetworkId];

    /// <summary>A rule's parents: its group and the group it names as the remote side.</summary>
    public static IEnumerable<Guid> RuleParents(SecurityGroupRule rule) =>
        rule.RemoteGroupId is { } remote && remote != rule.SecurityGroupId ? [rule.SecurityGroupId, remote] : [rule.SecurityGroupId];

    /// <param name="resource">A port must have its <see cref="Port.FixedIps"/> loaded.</param>
    public static async Task<(JsonObject Snapshot, List<Guid> Parents)> RenderAsync(OutboxSyncDbContext db, StandardResource resource, CancellationToken ct)
    {
        switch (resource)
        {
            case Network n:
                var subnets = await db.Subnets.AsNoTracking().Where(s => s.NetworkId == n.Id)
                    .OrderBy(s => s.CreatedAt).ThenBy(s => s.Id).Select(s => s.Id).ToListAsync(ct);
                return (ResourceViews.Network(n, subnets), []);
            case Subnet s:
                return (ResourceViews.Subnet(s), SubnetParents(s));
            case Port p:
                var parents = PortParents(p).ToList();
                // A router-interface port is sent as the interface.
                if (await db.RouterInterfaces.AsNoTracking().SingleOrDefaultAsync(i => i.PortId == p.Id, ct) is { } iface)
                {
                    parents.Add(iface.RouterId);
                    return (Interface(p, iface.RouterId, iface.SubnetId), parents);
                }
                return (ResourceViews.Port(p), parents);
            case Router r:
                return (ResourceViews.Router(r), []);
            case SecurityGroup g:
                return (ResourceViews.SecurityGroup(g), []);
            case SubnetPool pool:
                return (ResourceViews.SubnetPool(pool), []);
            case SecurityGroupRule rule:
                return (ResourceViews.SecurityGroupRule(rule), RuleParents(rule).ToList());
            default:
                throw new ArgumentException($"No snapshot for {resource.GetType().Name}", nameof(resource));
        }
    }
}
