using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;
using OutboxSync.Api.Auth;
using OutboxSync.Api.Errors;
using OutboxSync.Api.Lists;
using OutboxSync.Api.Requests;
using OutboxSync.Outbox;
using OutboxSync.Resources;

namespace OutboxSync.Api.Endpoints;

public static class RoutersEndpoints
{
    private static readonly ResourceType Type = ResourceType.Router;

    public static RouteGroupBuilder MapRouters(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/v2.0/routers").WithTags("routers");
        group.MapGet("/", List);
        group.MapGet("/{id}", Show);
        group.MapPost("/", Create);
        group.MapPut("/{id}", Update);
        group.MapDelete("/{id}", Delete);
        group.MapPut("/{id}/add_router_interface", RouterInterfaces.AddAsync);
        group.MapPut("/{id}/remove_router_interface", RouterInterfaces.RemoveAsync);
        return group;
    }

    private static Task<Ok<JsonObject>> List(HttpContext context, [AsParameters] ResourceServices s, CancellationToken ct) =>
        ResourceReads.ListAsync(context, s, Type, s.Db.Routers, RenderAsync, ct);

    private static Task<Ok<JsonObject>> Show(string id, HttpContext context, [AsParameters] ResourceServices s, CancellationToken ct) =>
        ResourceReads.ShowAsync(id, context, s, Type, ct);

    private static Task<List<JsonObject>> RenderAsync(ResourceServices s, IReadOnlyList<Router> routers, CancellationToken ct) =>
        Task.FromResult(routers.Select(ResourceViews.Router).ToList());

    private static async Task<Created<JsonObject>> Create(HttpContext context, [AsParameters] ResourceServices s, CancellationToken ct)
    {
        var tenant = TenantContext.From(context);
        var body = await RequestBody.ReadObjectAsync(context.Request, ct);
        var (items, bulk) = RequestBody.Envelope(body, "router", "routers", allowBulk: true);
        var now = Revisions.Now(s.Time);
        var parsed = items.Select(item =>
        {
            var a = new Attributes(item, "router", isCreate: true);
            a.ReadOnly("id", "status", "status_reason", "revision_number", "created_at", "updated_at");
            var router = new Router
            {
                Id = Guid.NewGuid(),
                ProjectId = tenant.OwnerOfNew(a.ProjectId()),
                Name = a.Name() ?? "",
                Description = a.Description() ?? "",
                AdminStateUp = a.Bool("admin_state_up") ?? true,
            };
            var gateway = a.Has("external_gateway_info") ? a.Object("external_gateway_info") : null;
            var routes = SubnetRules.Routes(a, "routes");
            a.RejectUnknown();
            Revisions.Initialize(router, now);
            router.Routes = routes?.ToJsonString() ?? "[]";
            return (router, gateway, a);
        }).ToList();

        var routers = await s.Accept.RunAsync(async () =>
        {
            foreach (var (router, gateway, a) in parsed)
            {
                router.ExternalGatewayInfo = (await GatewayAsync(s, a, gateway, tenant, ct))?.ToJsonString();
                s.Db.Routers.Add(router);
                s.Accept.Outbox.Append(router, OutboxOperation.Create, () => ResourceViews.Router(router), Parents(router));
            }
            return parsed.Select(p => p.router).ToList();
        }, ct);
        return Responses.Created(context.Request, Type.Collection, "router", routers.Select(ResourceViews.Router).ToList(), bulk);
    }

    private static async Task<Ok<JsonObject>> Update(string id, HttpContext context, [AsParameters] ResourceServices s, CancellationToken ct)
    {
        var tenant = TenantContext.From(context);
        var body = await RequestBody.ReadObjectAsync(context.Request, ct);
        var (items, _) = RequestBody.Envelope(body, "router", "routers", allowBulk: false);
        var a = new Attributes(items[0], "router", isCreate: false);
        a.ReadOnly("id", "project_id", "tenant_id", "status", "status_reason", "revision_number", "created_at", "updated_at", "tags");

        var view = await s.Accept.RunAsync(async () =>
        {
            var router = await s.Lookup.FindAsync<Router>(Type, id, tenant, forUpdate: true, ct);
            Revisions.CheckIfMatch(context.Request, router);
            Revisions.EnsureNotDeleting(router);
            router.Name = a.Name() ?? router.Name;
            router.Description = a.Description() ?? router.Description;
            router.AdminStateUp = a.Bool("admin_state_up") ?? router.AdminStateUp;
            if (a.Has("external_gateway_info"))
            {
                router.ExternalGatewayInfo = (await GatewayAsync(s, a, a.Object("external_gateway_info"), tenant, ct))?.ToJsonString();
            }
            router.Routes = SubnetRules.Routes(a, "routes")?.ToJsonString() ?? router.Routes;
            a.RejectUnknown();
            var operation = Revisions.Bump(router, Revisions.Now(s.Time));
            s.Accept.Outbox.Append(router, operation, () => ResourceViews.Router(router), Parents(router));
            return ResourceViews.Router(router);
        }, ct);
        return TypedResults.Ok(Responses.Envelope("router", view));
    }

    private static async Task<NoContent> Delete(string id, HttpContext context, [AsParameters] ResourceServices s, CancellationToken ct)
    {
        var tenant = TenantContext.From(context);
        await s.Accept.RunAsync(async () =>
        {
            var router = await s.Lookup.FindAsync<Router>(Type, id, tenant, forUpdate: true, ct);
            Revisions.CheckIfMatch(context.Request, router);
            if (router.Status == ResourceStatus.PendingDelete)
            {
                return 0;
            }
            var inUse = await s.Db.RouterInterfaces.Where(i => i.RouterId == router.Id)
                .Join(s.Db.Ports, i => i.PortId, p => p.Id, (i, p) => p.Status)
                .AnyAsync(status => status != ResourceStatus.PendingDelete, ct);
            if (inUse)
            {
                throw NeutronException.Conflict("RouterInUse", $"Router {router.Id} still has ports");
            }
            router.Status = ResourceStatus.PendingDelete;
            router.StatusReason = null;
            s.Accept.Outbox.Append(router, OutboxOperation.Delete, () => ResourceViews.Router(router), Parents(router));
            return 0;
        }, ct);
        return TypedResults.NoContent();
    }

    private static IEnumerable<Guid> Parents(Router router)
    {
        if (router.ExternalGatewayInfo is not null
            && JsonNode.Parse(router.ExternalGatewayInfo)?["network_id"]?.GetValue<string>() is { } id && Guid.TryParse(id, out var g))
        {
            yield return g;
        }
    }

    /// <summary>external_gateway_info: a visible network with router:external, and enable_snat.</summary>
    private static async Task<JsonObject?> GatewayAsync(ResourceServices s, Attributes a, JsonObject? info, TenantContext tenant, CancellationToken ct)
    {
        if (info is null)
        {
            return null;
        }
        if (info.Any(p => p.Key is not ("network_id" or "enable_snat" or "external_fixed_ips")))
        {
            throw a.Invalid("external_gateway_info", "only network_id, enable_snat and external_fixed_ips are allowed");
        }
        if (info["network_id"] is not JsonValue v || !v.TryGetValue(out string? text) || !Guid.TryParse(text, out var networkId))
        {
            throw a.Invalid("external_gateway_info", "network_id must be a UUID");
        }
        var network = await s.Db.Networks.AsNoTracking().SingleOrDefaultAsync(n => n.Id == networkId, ct);
        if (network is null || !(tenant.Owns(network.ProjectId) || network.Shared || network.RouterExternal))
        {
            throw NeutronException.NotFound("network", networkId);
        }
        if (!network.RouterExternal)
        {
            throw NeutronException.BadRequest($"Bad router request: Network {networkId} is not an external network.");
        }
        Revisions.EnsureNotDeleting(network);
        bool snat = true;
        if (info["enable_snat"] is { } snatNode)
        {
            snat = snatNode.GetValueKind() is System.Text.Json.JsonValueKind.True or System.Text.Json.JsonValueKind.False
                ? snatNode.GetValue<bool>()
                : throw a.Invalid("external_gateway_info", "enable_snat must be a boolean");
        }
        var fixedIps = info["external_fixed_ips"] is JsonArray ips
            ? (JsonArray)ips.DeepClone()
            : info["external_fixed_ips"] is null ? new JsonArray() : throw a.Invalid("external_gateway_info", "external_fixed_ips must be a list");
        return new JsonObject { ["network_id"] = networkId.ToString(), ["enable_snat"] = snat, ["external_fixed_ips"] = fixedIps };
    }
}
