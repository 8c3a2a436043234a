using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;
using OutboxSync.Api.Auth;
using OutboxSync.Api.Errors;
using OutboxSync.Api.Requests;
using OutboxSync.Ipam;
using OutboxSync.Outbox;
using OutboxSync.Resources;

namespace OutboxSync.Api.Endpoints;

/// <summary>
/// add_router_interface / remove_router_interface. The interface is ordered under its port: the outbox entry
/// is on the port, depends on the router, subnet and network, and the port turns ACTIVE once it is applied.
/// </summary>
public static class RouterInterfaces
{
    public static async Task<Ok<JsonObject>> AddAsync(string id, HttpContext context, [AsParameters] ResourceServices s,
        CancellationToken ct)
    {
        var tenant = TenantContext.From(context);
        var (subnetId, portId) = await ReadBodyAsync(context, ct);

        var result = await s.Accept.RunAsync(async () =>
        {
            var router = await s.Lookup.FindAsync<Router>(ResourceType.Router, id, tenant, forUpdate: true, ct);
            Revisions.EnsureNotDeleting(router);
            Port port;
            Subnet subnet;
            if (subnetId is { } sid)
            {
                subnet = await s.Lookup.FindAsync<Subnet>(ResourceType.Subnet, sid.ToString(), tenant, forUpdate: false, ct);
                Revisions.EnsureNotDeleting(subnet);
                if (subnet.GatewayIp is null)
                {
                    throw NeutronException.BadRequest($"Bad router request: Subnet {subnet.Id} does not have a gateway IP.");
                }
                await EnsureNoInterfaceOnSubnetAsync(s, router, subnet, ct);
                var network = await PortsEndpoints.NetworkForPortAsync(s, s.Connection, subnet.NetworkId, tenant, ct);
                port = new Port
                {
                    Id = Guid.NewGuid(),
                    ProjectId = router.ProjectId,
                    NetworkId = network.Id,
                    DeviceId = router.Id.ToString(),
                    DeviceOwner = Port.RouterInterfaceOwner,
                };
                Revisions.Initialize(port, Revisions.Now(s.Time));
                port.MacAddress = await PortAddressing.MacAsync(s.Connection, null, network.Id, ct);
                port.FixedIps = await PortAddressing.AllocateAsync(s.Connection, network, port.Id,
                    [new PortAddressing.Request(subnet.Id, System.Net.IPAddress.Parse(subnet.GatewayIp))], allowGateway: true, mac: null, ct);
                s.Db.Ports.Add(port);
            }
            else
            {
                port = await s.Lookup.FindAsync<Port>(ResourceType.Port, portId!.Value.ToString(), tenant, forUpdate: true, ct);
                Revisions.EnsureNotDeleting(port);
                if (port.DeviceOwner.Length > 0 || port.DeviceId.Length > 0)
                {
                    throw NeutronException.Conflict("PortInUse",
                        $"Unable to complete operation on port {port.Id} for network {port.NetworkId}. Port already has an attached device {port.DeviceId}.");
                }
                if (port.FixedIps.Count != 1)
                {
                    throw NeutronException.BadRequest($"Bad router request: Router port must have exactly one fixed IP.");
                }
                subnet = await s.Db.Subnets.SingleAsync(x => x.Id == port.FixedIps[0].SubnetId, ct);
                Revisions.EnsureNotDeleting(subnet);
                await EnsureNoInterfaceOnSubnetAsync(s, router, subnet, ct);
                port.DeviceOwner = Port.RouterInterfaceOwner;
                port.DeviceId = router.Id.ToString();
                Revisions.Bump(port, Revisions.Now(s.Time));
            }
            s.Db.RouterInterfaces.Add(new RouterInterface { PortId = port.Id, RouterId = router.Id, SubnetId = subnet.Id });
            var captured = port;
            var capturedSubnet = subnet;
            s.Accept.Outbox.Append(port, OutboxOperation.AddInterface, () => Snapshot(captured, router, capturedSubnet),
                router.Id, subnet.Id, subnet.NetworkId);
            return Info(router, port, subnet);
        }, ct);
        return TypedResults.Ok(result);
    }

    public static async Task<Ok<JsonObject>> RemoveAsync(string id, HttpContext context, [AsParameters] ResourceServices s, CancellationToken ct)
    {
        var tenant = TenantContext.From(context);
        var (subnetId, portId) = await ReadBodyAsync(context, ct, allowBoth: true);

        var result = await s.Accept.RunAsync(async () =>
        {
            var router = await s.Lookup.FindAsync<Router>(ResourceType.Router, id, tenant, forUpdate: true, ct);
            var query = s.Db.RouterInterfaces.Where(i => i.RouterId == router.Id);
            if (portId is { } pid)
            {
                query = query.Where(i => i.PortId == pid);
            }
            if (subnetId is { } sid)
            {
                query = query.Where(i => i.SubnetId == sid);
            }
            var found = await query.FirstOrDefaultAsync(ct);
            if (found is null)
            {
                throw portId is not null
                    ? new NeutronException(404, "RouterInterfaceNotFound", $"Router {router.Id} does not have an interface with id {portId}")
                    : new NeutronException(404, "RouterInterfaceNotFoundForSubnet", $"Router {router.Id} has no interface on subnet {subnetId}");
            }
            var port = await s.Lookup.FindAsync<Port>(ResourceType.Port, found.PortId.ToString(), tenant, forUpdate: true, ct);
            var subnet = await s.Db.Subnets.AsNoTracking().SingleAsync(x => x.Id == found.SubnetId, ct);
            if (port.Status != ResourceStatus.PendingDelete)
            {
                if (SubnetCidr.TryParse(subnet.Cidr, out var cidr, out _) && RoutersEndpoints.HasRouteVia(router, cidr))
                {
                    throw NeutronException.Conflict("RouterInterfaceInUseByRoute",
                        $"Router interface for subnet {subnet.Id} on router {router.Id} cannot be deleted, as it is required by one or more routes.");
                }
                // Neutron deletes the interface's port with the interface; it goes once the back end confirms.
                port.Status = ResourceStatus.PendingDelete;
                port.StatusReason = null;
                s.Accept.Outbox.Append(port, OutboxOperation.RemoveInterface, () => Snapshot(port, router, subnet),
                    router.Id, subnet.Id, subnet.NetworkId);
                await PortAddressing.ReleaseAsync(s.Connection, port, Revisions.Now(s.Time), ct);
            }
            return Info(router, port, subnet);
        }, ct);
        return TypedResults.Ok(result);
    }

    private static async Task EnsureNoInterfaceOnSubnetAsync(ResourceServices s, Router router, Subnet subnet, CancellationToken ct)
    {
        var attached = await s.Db.RouterInterfaces.Where(i => i.RouterId == router.Id)
            .Join(s.Db.Subnets, i => i.SubnetId, x => x.Id, (i, x) => new { x.Id, x.Cidr })
            .ToListAsync(ct);
        if (attached.Any(x => x.Id == subnet.Id))
        {
            throw NeutronException.BadRequest($"Bad router request: Router already has a port on subnet {subnet.Id}.");
        }
        // A router cannot route between two interfaces whose subnets overlap.
        SubnetCidr.TryParse(subnet.Cidr, out var cidr, out _);
        foreach (var other in attached)
        {
            if (SubnetCidr.TryParse(other.Cidr, out var otherCidr, out _) && otherCidr.Version == cidr.Version && otherCidr.Range.Overlaps(cidr.Range))
            {
                throw NeutronException.BadRequest(
                    $"Bad router request: Cidr {subnet.Cidr} of subnet {subnet.Id} overlaps with cidr {other.Cidr} of subnet {other.Id}.");
            }
        }
    }

    private static async Task<(Guid? SubnetId, Guid? PortId)> ReadBodyAsync(HttpContext context, CancellationToken ct, bool allowBoth = false)
    {
        var body = await RequestBody.ReadObjectAsync(context.Request, ct);
        var a = new Attributes(body, "router_interface", isCreate: false);
        var subnetId = a.Uuid("subnet_id");
        var portId = a.Uuid("port_id");
        a.RejectUnknown();
        if (subnetId is null && portId is null)
        {
            throw NeutronException.BadRequest("Bad router request: Either subnet_id or port_id must be specified.");
        }
        if (!allowBoth && subnetId is not null && portId is not null)
        {
            throw NeutronException.BadRequest("Bad router request: Cannot specify both subnet-id and port-id.");
        }
        return (subnetId, portId);
    }

    /// <summary>
    /// A change to an interface port (name, description, tags) is sent as the interface at its new revision: the
    /// back end holds the port only as the router's interface, so a plain port update there would find nothing.
    /// Returns null for ordinary ports.
    /// </summary>
    public static async Task<(string Operation, Func<JsonNode> Snapshot, Guid[] Parents)?> InterfaceChangeAsync(
        ResourceServices s, Port port, CancellationToken ct)
    {
        var iface = await s.Db.RouterInterfaces.AsNoTracking().SingleOrDefaultAsync(i => i.PortId == port.Id, ct);
        if (iface is null)
        {
            return null;
        }
        var subnet = await s.Db.Subnets.AsNoTracking().SingleAsync(x => x.Id == iface.SubnetId, ct);
        var router = new Router { Id = iface.RouterId };
        return (OutboxOperation.AddInterface, () => Snapshot(port, router, subnet), [iface.RouterId, subnet.Id, subnet.NetworkId]);
    }

    private static JsonObject Snapshot(Port port, Router router, Subnet subnet) => ResourceSnapshots.Interface(port, router.Id, subnet.Id);

    private static JsonObject Info(Router router, Port port, Subnet subnet) => new()
    {
        ["id"] = router.Id.ToString(),
        ["tenant_id"] = router.ProjectId,
        ["project_id"] = router.ProjectId,
        ["port_id"] = port.Id.ToString(),
        ["subnet_id"] = subnet.Id.ToString(),
        ["subnet_ids"] = new JsonArray(subnet.Id.ToString()),
        ["network_id"] = subnet.NetworkId.ToString(),
    };
}
