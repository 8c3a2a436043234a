using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;
using Npgsql;
using OutboxSync.Api.Accept;
using OutboxSync.Api.Auth;
using OutboxSync.Api.Errors;
using OutboxSync.Api.Lists;
using OutboxSync.Api.Requests;
using OutboxSync.Ipam;
using OutboxSync.Outbox;
using OutboxSync.Persistence;
using OutboxSync.Resources;

namespace OutboxSync.Api.Endpoints;

public static class PortsEndpoints
{
    private static readonly ResourceType Type = ResourceType.Port;

    public static RouteGroupBuilder MapPorts(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/v2.0/ports").WithTags("ports");
        group.MapGet("/", List);
        group.MapGet("/{id}", Show);
        group.MapPost("/", Create);
        group.MapPut("/{id}", Update);
        group.MapDelete("/{id}", Delete);
        return group;
    }

    private static Task<Ok<JsonObject>> List(HttpContext context, [AsParameters] ResourceServices s, CancellationToken ct) =>
        ResourceReads.ListAsync(context, s, Type, s.Db.Ports, RenderAsync, ct);

    private static Task<Ok<JsonObject>> Show(string id, HttpContext context, [AsParameters] ResourceServices s, CancellationToken ct) =>
        ResourceReads.ShowAsync(id, context, s, Type, ct);

    private static async Task<List<JsonObject>> RenderAsync(ResourceServices s, TenantContext tenant, IReadOnlyList<Port> ports, CancellationToken ct)
    {
        await s.Lookup.LoadFixedIpsAsync(ports, ct);
        return ports.Select(p => s.Bindings.Present(ResourceViews.Port(p), tenant)).ToList();
    }

    /// <param name="SecurityGroups">The groups asked for; null when the attribute was left out.</param>
    private sealed record PortRequest(Port Port, string? Mac, List<PortAddressing.Request>? FixedIps, List<Guid>? SecurityGroups);

    private static async Task<Created<JsonObject>> Create(HttpContext context, [AsParameters] ResourceServices s, CancellationToken ct)
    {
        var tenant = TenantContext.From(context);
        var body = await RequestBody.ReadObjectAsync(context.Request, ct);
        var (items, bulk) = RequestBody.Envelope(body, "port", "ports", allowBulk: true);
        var now = Revisions.Now(s.Time);
        var parsed = items.Select(item => Parse(new Attributes(item, "port", isCreate: true), tenant, now)).ToList();
        List<Port> ports;
        try
        {
            ports = await AcceptAsync(s, parsed, tenant, ct);
        }
        catch (PostgresException e) when (PortSecurityGroups.IsNotFound(e) && parsed.Any(p => p.SecurityGroups is null))
        {
            // A remembered default group may have been deleted since (by an admin): ask again, once.
            foreach (var project in parsed.Select(p => p.Port.ProjectId).Distinct())
            {
                s.SecurityGroupDefaults.Forget(project);
            }
            try
            {
                ports = await AcceptAsync(s, parsed, tenant, ct);
            }
            catch (PostgresException again) when (PortSecurityGroups.IsNotFound(again))
            {
                throw PortSecurityGroups.NotFound(again);
            }
        }
        catch (PostgresException e) when (PortSecurityGroups.IsNotFound(e))
        {
            throw PortSecurityGroups.NotFound(e);
        }
        return Responses.Created(context.Request, Type,
            ports.Select(p => s.Bindings.Present(ResourceViews.Port(p), tenant)).ToList(), bulk);
    }

    private static async Task<List<Port>> AcceptAsync(ResourceServices s, List<PortRequest> parsed, TenantContext tenant, CancellationToken ct)
    {
        // The project's default group when none were asked for (made on first use, in its own transaction).
        foreach (var request in parsed)
        {
            request.Port.SecurityGroups = request.SecurityGroups
                ?? (PortSecurityGroups.IsNetworkOwned(request.Port) ? [] : [await s.SecurityGroupDefaults.EnsureAsync(s, request.Port.ProjectId, ct)]);
        }
        return await s.Accept.RunBatchedAsync(async batch =>
        {
            foreach (var request in parsed)
            {
                // Bulk: write the previous port first so this port's IPAM sees its addresses. The last (or only)
                // port is written with the outbox entries in one round trip.
                await batch.SendAsync(ct);
                var port = request.Port;
                var network = await NetworkForPortAsync(s, batch.Connection, port.NetworkId, tenant, ct, probeFirstSubnet: request.FixedIps is null);
                port.MacAddress = await PortAddressing.MacAsync(batch.Connection, request.Mac, network.Id, ct);
                port.FixedIps = await PortAddressing.AllocateAsync(batch.Connection, network, port.Id, request.FixedIps, allowGateway: false, port.MacAddress, ct);
                if (port.SecurityGroups.Count > 0)
                {
                    batch.Add([PortSecurityGroups.RequireCommand(port)]);
                }
                batch.Add(ResourceInserts.Port(port));
                s.Accept.Outbox.Append(port, OutboxOperation.Create, () => ResourceViews.Port(port), ResourceSnapshots.PortParents(port));
            }
            return parsed.Select(p => p.Port).ToList();
        }, ct);
    }

    private static async Task<Ok<JsonObject>> Update(string id, HttpContext context, [AsParameters] ResourceServices s, CancellationToken ct)
    {
        var tenant = TenantContext.From(context);
        var body = await RequestBody.ReadObjectAsync(context.Request, ct);
        var (items, _) = RequestBody.Envelope(body, "port", "ports", allowBulk: false);
        var a = new Attributes(items[0], "port", isCreate: false);
        a.ReadOnly("id", "project_id", "tenant_id", "status", "status_reason", "revision_number", "created_at", "updated_at",
            "network_id", "mac_address", "tags");

        var view = await s.Accept.RunAsync(async () =>
        {
            var port = await s.Lookup.FindAsync<Port>(Type, id, tenant, forUpdate: true, ct);
            Revisions.CheckIfMatch(context.Request, port);
            Revisions.EnsureNotDeleting(port);
            var isInterface = port.DeviceOwner == Port.RouterInterfaceOwner;
            port.Name = a.Name() ?? port.Name;
            port.Description = a.Description() ?? port.Description;
            port.AdminStateUp = a.Bool("admin_state_up") ?? port.AdminStateUp;
            var deviceId = a.String("device_id");
            var deviceOwner = a.String("device_owner");
            var fixedIps = PortAddressing.ParseFixedIps(a);
            var groups = PortSecurityGroups.Parse(a);
            PortBindings.Read(a, port, tenant);
            a.RejectUnknown();
            if (isInterface && (deviceId is not null || deviceOwner is not null || fixedIps is not null || groups is { Count: > 0 }))
            {
                throw NeutronException.Conflict("PortInUse",
                    $"Port {port.Id} is a router interface; change it through the router's add/remove_router_interface.");
            }
            port.DeviceId = deviceId ?? port.DeviceId;
            port.DeviceOwner = deviceOwner ?? port.DeviceOwner;
            // The back end holds the port with its old addresses until this entry is applied, so a subnet it leaves
            // stays a parent until then: its delete must wait for this entry (DependencyRules reads depends_on).
            var formerParents = ResourceSnapshots.PortParents(port).ToList();
            if (groups is not null)
            {
                port.SecurityGroups = groups;
                if (groups.Count > 0)
                {
                    await PortSecurityGroups.RequireAsync(s.Connection, port, ct);
                }
            }
            if (fixedIps is not null)
            {
                await PortAddressing.RecordReleasedAsync(s.Connection, port.Id, ct);
                s.Db.IpAllocations.RemoveRange(port.FixedIps);
                await s.Db.SaveChangesAsync(ct);
                var network = await PortAddressing.LockNetworkAsync(s.Connection, port.NetworkId, ct)
                    ?? throw NeutronException.NotFound("network", port.NetworkId);
                port.FixedIps = await PortAddressing.AllocateAsync(s.Connection, network, port.Id, fixedIps, allowGateway: false, port.MacAddress, ct);
                s.Db.IpAllocations.AddRange(port.FixedIps);
            }
            var operation = Revisions.Bump(port, Revisions.Now(s.Time));
            if (isInterface && await RouterInterfaces.InterfaceChangeAsync(s, port, ct) is { } change)
            {
                s.Accept.Outbox.Append(port, change.Operation, change.Snapshot, change.Parents);
            }
            else
            {
                s.Accept.Outbox.Append(port, operation, () => ResourceViews.Port(port), ResourceSnapshots.PortParents(port).Concat(formerParents));
            }
            return s.Bindings.Present(ResourceViews.Port(port), tenant);
        }, ct);
        return TypedResults.Ok(Responses.Envelope("port", view));
    }

    private static async Task<NoContent> Delete(string id, HttpContext context, [AsParameters] ResourceServices s, CancellationToken ct)
    {
        var tenant = TenantContext.From(context);
        await s.Accept.RunAsync(async () =>
        {
            var port = await s.Lookup.FindAsync<Port>(Type, id, tenant, forUpdate: true, ct);
            Revisions.CheckIfMatch(context.Request, port);
            if (port.Status == ResourceStatus.PendingDelete)
            {
                return 0;
            }
            if (await s.Db.RouterInterfaces.AnyAsync(i => i.PortId == port.Id, ct))
            {
                throw NeutronException.Conflict("ServicePortInUse",
                    $"Port {port.Id} cannot be deleted directly via the port API: has device owner {Port.RouterInterfaceOwner}.");
            }
            port.Status = ResourceStatus.PendingDelete;
            port.StatusReason = null;
            s.Accept.Outbox.Append(port, OutboxOperation.Delete, () => ResourceViews.Port(port), ResourceSnapshots.PortParents(port));
            await PortAddressing.ReleaseAsync(s.Connection, port, Revisions.Now(s.Time), ct);
            return 0;
        }, ct);
        return TypedResults.NoContent();
    }

    /// <summary>The network a port goes on, with its live subnets: visible (own or shared), and not being deleted.
    /// Locked FOR SHARE (<see cref="PortAddressing.LockNetworkAsync"/>) so a concurrent network delete cannot miss
    /// this port in its "ports still in use" check.</summary>
    public static async Task<PortAddressing.PortNetwork> NetworkForPortAsync(ResourceServices s, NpgsqlConnection connection,
        Guid networkId, TenantContext tenant, CancellationToken ct, bool probeFirstSubnet = false)
    {
        var network = await PortAddressing.LockNetworkAsync(connection, networkId, ct, probeFirstSubnet);
        if (network is null || !(tenant.Owns(network.ProjectId) || network.Shared)
            || (s.Lookup.HidePendingDeletes && network.Status == ResourceStatus.PendingDelete))
        {
            throw NeutronException.NotFound("network", networkId);
        }
        if (network.Status == ResourceStatus.PendingDelete)
        {
            throw Revisions.BeingDeleted(ResourceType.Network, networkId);
        }
        return network;
    }

    private static PortRequest Parse(Attributes a, TenantContext tenant, DateTimeOffset now)
    {
        a.ReadOnly("id", "status", "status_reason", "revision_number", "created_at", "updated_at");
        var networkId = a.Uuid("network_id") ?? throw NeutronException.BadRequest("Failed to parse request. Required attribute 'network_id' not specified");
        string? mac = null;
        if (a.String("mac_address", 64) is { } macText)
        {
            if (!MacAddress.TryNormalize(macText, out var normalized))
            {
                throw a.Invalid("mac_address", $"'{RequestBody.Truncate(macText)}' is not a valid MAC address");
            }
            mac = normalized;
        }
        var port = new Port
        {
            Id = Guid.NewGuid(),
            ProjectId = tenant.OwnerOfNew(a.ProjectId()),
            Name = a.Name() ?? "",
            Description = a.Description() ?? "",
            AdminStateUp = a.Bool("admin_state_up") ?? true,
            NetworkId = networkId,
            DeviceId = a.String("device_id") ?? "",
            DeviceOwner = a.String("device_owner") ?? "",
        };
        if (port.DeviceOwner == Port.RouterInterfaceOwner)
        {
            throw NeutronException.BadRequest($"Ports with device_owner {Port.RouterInterfaceOwner} are made by add_router_interface.");
        }
        var fixedIps = PortAddressing.ParseFixedIps(a);
        var groups = PortSecurityGroups.Parse(a);
        PortBindings.Read(a, port, tenant);
        a.RejectUnknown();
        Revisions.Initialize(port, now);
        return new PortRequest(port, mac, fixedIps, groups);
    }
}
