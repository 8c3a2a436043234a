using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Microsoft.EntityFrameworkCore;
using OutboxSync.Api.Auth;
using OutboxSync.Api.Errors;
using OutboxSync.Api.Lists;
using OutboxSync.Api.Requests;
using OutboxSync.Outbox;
using OutboxSync.Resources;

namespace OutboxSync.Api.Endpoints;

public static class NetworksEndpoints
{
    private static readonly ResourceType Type = ResourceType.Network;

    /// <summary>IPv4's minimum link MTU (RFC 791); IPv6 subnets raise it to <see cref="SubnetRules.Ipv6MinMtu"/>.</summary>
    private const int MinMtu = 68;

    public static RouteGroupBuilder MapNetworks(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/v2.0/networks").WithTags("networks");
        group.MapGet("/", List);
        group.MapGet("/{id}", Show);
        group.MapPost("/", Create);
        group.MapPut("/{id}", Update);
        group.MapDelete("/{id}", Delete);
        return group;
    }

    private static Task<Ok<JsonObject>> List(HttpContext context, [AsParameters] ResourceServices s, CancellationToken ct) =>
        ResourceReads.ListAsync(context, s, Type, s.Db.Networks, RenderAsync, ct);

    private static Task<Ok<JsonObject>> Show(string id, HttpContext context, [AsParameters] ResourceServices s, CancellationToken ct) =>
        ResourceReads.ShowAsync(id, context, s, Type, ct);

    private static async Task<List<JsonObject>> RenderAsync(ResourceServices s, TenantContext tenant, IReadOnlyList<Network> networks, CancellationToken ct)
    {
        var subnets = await s.Lookup.SubnetIdsAsync(networks.Select(n => n.Id).ToList(), ct);
        return networks.Select(n => ResourceViews.Network(n, subnets.GetValueOrDefault(n.Id) ?? [])).ToList();
    }

    private static async Task<Created<JsonObject>> Create(HttpContext context, [AsParameters] ResourceServices s, CancellationToken ct)
    {
        var tenant = TenantContext.From(context);
        var body = await RequestBody.ReadObjectAsync(context.Request, ct);
        var (items, bulk) = RequestBody.Envelope(body, "network", "networks", allowBulk: true);
        var now = Revisions.Now(s.Time);
        var networks = items.Select(item => Parse(new Attributes(item, "network", isCreate: true), tenant, s.Options.Value, now)).ToList();

        foreach (var network in networks)
        {
            s.Accept.Outbox.Append(network, OutboxOperation.Create, () => ResourceViews.Network(network, []));
        }
        await s.Accept.InsertNetworksAsync(networks, ct);
        return Responses.Created(context.Request, Type, networks.Select(n => ResourceViews.Network(n, [])).ToList(), bulk);
    }

    private static async Task<Ok<JsonObject>> Update(string id, HttpContext context, [AsParameters] ResourceServices s, CancellationToken ct)
    {
        var tenant = TenantContext.From(context);
        var body = await RequestBody.ReadObjectAsync(context.Request, ct);
        var (items, _) = RequestBody.Envelope(body, "network", "networks", allowBulk: false);
        var attributes = new Attributes(items[0], "network", isCreate: false);
        attributes.ReadOnly("id", "project_id", "tenant_id", "status", "status_reason", "revision_number", "created_at", "updated_at", "subnets", "tags");

        var view = await s.Accept.RunAsync(async () =>
        {
            var network = await s.Lookup.FindAsync<Network>(Type, id, tenant, forUpdate: true, ct);
            Revisions.CheckIfMatch(context.Request, network);
            Revisions.EnsureNotDeleting(network);
            network.Name = attributes.Name() ?? network.Name;
            network.Description = attributes.Description() ?? network.Description;
            network.AdminStateUp = attributes.Bool("admin_state_up") ?? network.AdminStateUp;
            if (attributes.Int("mtu", MinMtu, s.Options.Value.MaxMtu) is { } mtu)
            {
                if (mtu < SubnetRules.Ipv6MinMtu
                    && await s.Db.Subnets.AnyAsync(x => x.NetworkId == network.Id && x.IpVersion == 6 && x.Status != ResourceStatus.PendingDelete, ct))
                {
                    throw NeutronException.InvalidInput(
                        $"network {network.Id} has IPv6 subnets, which need an MTU of at least {SubnetRules.Ipv6MinMtu}; {mtu} is too small");
                }
                network.Mtu = mtu;
            }
            network.Shared = AdminOnly(attributes, "shared", tenant) ?? network.Shared;
            network.RouterExternal = AdminOnly(attributes, "router:external", tenant) ?? network.RouterExternal;
            attributes.RejectUnknown();
            var operation = Revisions.Bump(network, Revisions.Now(s.Time));
            var subnetIds = (await s.Lookup.SubnetIdsAsync([network.Id], ct)).GetValueOrDefault(network.Id) ?? [];
            s.Accept.Outbox.Append(network, operation, () => ResourceViews.Network(network, subnetIds));
            return ResourceViews.Network(network, subnetIds);
        }, ct);
        return TypedResults.Ok(Responses.Envelope("network", view));
    }

    private static async Task<NoContent> Delete(string id, HttpContext context, [AsParameters] ResourceServices s, CancellationToken ct)
    {
        var tenant = TenantContext.From(context);
        await s.Accept.RunAsync(async () =>
        {
            var network = await s.Lookup.FindAsync<Network>(Type, id, tenant, forUpdate: true, ct);
            Revisions.CheckIfMatch(context.Request, network);
            if (network.Status == ResourceStatus.PendingDelete)
            {
                return 0; // Already accepted; the back end has not confirmed yet.
            }
            // A router's gateway lives on the router row, not as a port here, so it is checked apart. The gateway's
            // lookup reads the network FOR SHARE, so setting a gateway and this delete serialise on the network row.
            var inUse = await s.Db.Ports.AnyAsync(p => p.NetworkId == network.Id && p.Status != ResourceStatus.PendingDelete, ct)
                || await s.Db.Routers
                    .FromSqlRaw("select * from routers where external_gateway_info->>'network_id' = {0} and status <> 'PENDING_DELETE'",
                        network.Id.ToString())
                    .AnyAsync(ct);
            if (inUse)
            {
                throw NeutronException.Conflict("NetworkInUse",
                    $"Unable to complete operation on network {network.Id}. There are one or more ports still in use on the network.");
            }
            // Neutron deletes a network's subnets with it: each gets its own delete entry, ordered before the network's.
            var subnets = await s.Db.Subnets
                .FromSqlRaw("select * from subnets where network_id = {0} and status <> 'PENDING_DELETE' order by created_at, id for update", network.Id)
                .ToListAsync(ct);
            var now = Revisions.Now(s.Time);
            foreach (var subnet in subnets)
            {
                subnet.Status = ResourceStatus.PendingDelete;
                subnet.StatusReason = null;
                s.Accept.Outbox.Append(subnet, OutboxOperation.Delete, () => ResourceViews.Subnet(subnet), ResourceSnapshots.SubnetParents(subnet));
            }
            network.Status = ResourceStatus.PendingDelete;
            network.StatusReason = null;
            _ = now;
            s.Accept.Outbox.Append(network, OutboxOperation.Delete, () => ResourceViews.Network(network, subnets.Select(x => x.Id)));
            return 0;
        }, ct);
        return TypedResults.NoContent();
    }

    private static Network Parse(Attributes a, TenantContext tenant, ApiOptions options, DateTimeOffset now)
    {
        a.ReadOnly("id", "status", "status_reason", "revision_number", "created_at", "updated_at", "subnets");
        var network = new Network
        {
            Id = Guid.NewGuid(),
            ProjectId = tenant.OwnerOfNew(a.ProjectId()),
            Name = a.Name() ?? "",
            Description = a.Description() ?? "",
            AdminStateUp = a.Bool("admin_state_up") ?? true,
            Mtu = a.Int("mtu", MinMtu, options.MaxMtu) ?? options.DefaultMtu,
            Shared = AdminOnly(a, "shared", tenant) ?? false,
            RouterExternal = AdminOnly(a, "router:external", tenant) ?? false,
        };
        a.RejectUnknown();
        Revisions.Initialize(network, now);
        return network;
    }

    private static bool? AdminOnly(Attributes a, string name, TenantContext tenant)
    {
        var value = a.Bool(name);
        if (value is not null && !tenant.IsAdmin)
        {
            throw NeutronException.Forbidden($"(rule:create_network and rule:create_network:{name}) is disallowed by policy");
        }
        return value;
    }

}
