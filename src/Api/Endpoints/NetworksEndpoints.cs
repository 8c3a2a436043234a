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

    private static async Task<Ok<JsonObject>> List(HttpContext context, [AsParameters] ResourceServices s, CancellationToken ct)
    {
        var tenant = TenantContext.From(context);
        var request = ListRequest.Parse(context.Request.Query, Type, s.Options.Value.MaxPageSize);
        var page = await s.Lister.ListAsync(s.Db.Networks, Type, request, tenant, s.Lookup.HidePendingDeletes, ct);
        var subnets = await s.Lookup.SubnetIdsAsync(page.Items.Select(n => n.Id).ToList(), ct);
        var views = page.Items.Select(n => ResourceViews.Select(ResourceViews.Network(n, subnets.GetValueOrDefault(n.Id) ?? []), request.Fields)).ToList();
        return TypedResults.Ok(Responses.ListBody(context.Request, Type.Collection, views, page.Items.Select(n => n.Id.ToString()).ToList(), page.HasMore, request));
    }

    private static async Task<Ok<JsonObject>> Show(string id, HttpContext context, [AsParameters] ResourceServices s, CancellationToken ct)
    {
        var network = await s.Lookup.FindAsync<Network>(Type, id, TenantContext.From(context), forUpdate: false, ct);
        var fields = ListRequest.Parse(FieldsOnly(context), Type, 1).Fields;
        return TypedResults.Ok(Responses.Envelope("network", ResourceViews.Select(await ViewAsync(s, network, ct), fields)));
    }

    private static async Task<Created<JsonObject>> Create(HttpContext context, [AsParameters] ResourceServices s, CancellationToken ct)
    {
        var tenant = TenantContext.From(context);
        var body = await RequestBody.ReadObjectAsync(context.Request, ct);
        var (items, bulk) = RequestBody.Envelope(body, "network", "networks", allowBulk: true);
        var now = Revisions.Now(s.Time);
        var networks = items.Select(item => Parse(new Attributes(item, "network", isCreate: true), tenant, s.Options.Value, now)).ToList();

        await s.Accept.RunAsync(async () =>
        {
            foreach (var network in networks)
            {
                s.Db.Networks.Add(network);
                s.Accept.Outbox.Append(network, OutboxOperation.Create, () => ResourceViews.Network(network, []));
            }
            await Task.CompletedTask;
            return 0;
        }, ct);
        return Responses.Created(context.Request, Type.Collection, "network", networks.Select(n => ResourceViews.Network(n, [])).ToList(), bulk);
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
            EnsureNotDeleting(network);
            network.Name = attributes.Name() ?? network.Name;
            network.Description = attributes.Description() ?? network.Description;
            network.AdminStateUp = attributes.Bool("admin_state_up") ?? network.AdminStateUp;
            network.Mtu = attributes.Int("mtu", 68, 9216) ?? network.Mtu;
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
            var portsInUse = await s.Db.Ports.AnyAsync(p => p.NetworkId == network.Id && p.Status != ResourceStatus.PendingDelete, ct);
            if (portsInUse)
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
                s.Accept.Outbox.Append(subnet, OutboxOperation.Delete, () => ResourceViews.Subnet(subnet), subnet.NetworkId);
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
            ProjectId = ProjectFor(a, tenant),
            Name = a.Name() ?? "",
            Description = a.Description() ?? "",
            AdminStateUp = a.Bool("admin_state_up") ?? true,
            Mtu = a.Int("mtu", 68, 9216) ?? options.DefaultMtu,
            Shared = AdminOnly(a, "shared", tenant) ?? false,
            RouterExternal = AdminOnly(a, "router:external", tenant) ?? false,
        };
        a.RejectUnknown();
        Revisions.Initialize(network, now);
        return network;
    }

    /// <summary>The project a new resource belongs to; only admin may name another project.</summary>
    public static string ProjectFor(Attributes a, TenantContext tenant)
    {
        var requested = a.ProjectId();
        if (requested is null || requested == tenant.ProjectId)
        {
            return tenant.ProjectId;
        }
        return tenant.IsAdmin
            ? requested
            : throw NeutronException.Forbidden("(rule:create_resource and rule:create_resource:project_id) is disallowed by policy");
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

    public static void EnsureNotDeleting(StandardResource resource)
    {
        if (resource.Status == ResourceStatus.PendingDelete)
        {
            throw NeutronException.Conflict("ResourceBeingDeleted",
                $"{resource.Type.Name} {resource.Id} is being deleted and cannot be changed.");
        }
    }

    private static async Task<JsonObject> ViewAsync(ResourceServices s, Network network, CancellationToken ct)
    {
        var subnets = await s.Lookup.SubnetIdsAsync([network.Id], ct);
        return ResourceViews.Network(network, subnets.GetValueOrDefault(network.Id) ?? []);
    }

    /// <summary>Only the fields= part of a show's query string matters; other keys are ignored as Neutron does.</summary>
    public static QueryCollection FieldsOnly(HttpContext context) =>
        new(context.Request.Query.Where(q => q.Key == "fields").ToDictionary(q => q.Key, q => q.Value));
}
