using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;
using OutboxSync.Api.Auth;
using OutboxSync.Api.Errors;
using OutboxSync.Api.Lists;
using OutboxSync.Api.Requests;
using OutboxSync.Ipam;
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

    private static Task<List<JsonObject>> RenderAsync(ResourceServices s, TenantContext tenant, IReadOnlyList<Router> routers, CancellationToken ct) =>
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
            // extraroute: routes need the router's interfaces to reach their nexthops, so (as in Neutron) they are
            // set by update only.
            a.ReadOnly("routes");
            a.RejectUnknown();
            Revisions.Initialize(router, now);
            router.Routes = "[]";
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
        return Responses.Created(context.Request, Type, routers.Select(ResourceViews.Router).ToList(), bulk);
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
            // The back end holds the old gateway until this entry is applied, so that network stays a parent until
            // then: its delete must wait for this entry (as a port's former subnets do).
            var formerParents = Parents(router).ToList();
            if (a.Has("external_gateway_info"))
            {
                router.ExternalGatewayInfo = (await GatewayAsync(s, a, a.Object("external_gateway_info"), tenant, ct))?.ToJsonString();
            }
            if (a.Has("routes"))
            {
                // Neutron converts null to an empty list: clearing the routes.
                var routes = a.Raw("routes") is null ? [] : SubnetRules.Routes(a, "routes")!;
                await ValidateRoutesAsync(s, router, routes, ct);
                router.Routes = routes.ToJsonString();
            }
            a.RejectUnknown();
            var operation = Revisions.Bump(router, Revisions.Now(s.Time));
            s.Accept.Outbox.Append(router, operation, () => ResourceViews.Router(router), Parents(router).Concat(formerParents));
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

    /// <summary>
    /// extraroute's rules: every nexthop lies in a subnet attached to the router by an interface and is not one of
    /// the router's own interface addresses (Neutron's InvalidRoutes otherwise).
    /// </summary>
    private static async Task ValidateRoutesAsync(ResourceServices s, Router router, JsonArray routes, CancellationToken ct)
    {
        if (routes.Count == 0)
        {
            return;
        }
        // An interface whose removal is already accepted no longer counts.
        var interfaces = await s.Db.RouterInterfaces.AsNoTracking().Where(i => i.RouterId == router.Id)
            .Join(s.Db.Ports, i => i.PortId, p => p.Id, (i, p) => new { i.PortId, i.SubnetId, p.Status })
            .Where(i => i.Status != ResourceStatus.PendingDelete)
            .Join(s.Db.Subnets, i => i.SubnetId, x => x.Id, (i, x) => new { i.PortId, x.Cidr })
            .ToListAsync(ct);
        var portIds = interfaces.Select(i => i.PortId).ToList();
        var ownAddresses = await s.Db.IpAllocations.AsNoTracking().Where(x => portIds.Contains(x.PortId)).Select(x => x.IpAddress).ToListAsync(ct);
        var cidrs = interfaces.Select(i => SubnetCidr.TryParse(i.Cidr, out var c, out _) ? c : (SubnetCidr?)null).OfType<SubnetCidr>().ToList();
        foreach (var route in routes)
        {
            var nexthop = System.Net.IPAddress.Parse((string)route!["nexthop"]!);
            if (!cidrs.Any(c => c.Contains(nexthop)))
            {
                throw InvalidRoutes(routes, "the nexthop is not connected with router");
            }
            if (ownAddresses.Contains(nexthop.ToString()))
            {
                throw InvalidRoutes(routes, "the nexthop is used by router");
            }
        }
    }

    private static NeutronException InvalidRoutes(JsonArray routes, string reason) =>
        new(400, "InvalidRoutes", $"Invalid format for routes: {RequestBody.Truncate(routes.ToJsonString(), 200)}, {reason}.");

    /// <summary>Whether a route of the router has its nexthop in <paramref name="cidr"/>, so needs that interface.</summary>
    public static bool HasRouteVia(Router router, SubnetCidr cidr) =>
        JsonNode.Parse(router.Routes) is JsonArray routes
        && routes.Any(r => r?["nexthop"] is JsonValue v && v.TryGetValue(out string? hop)
            && System.Net.IPAddress.TryParse(hop, out var ip) && cidr.Contains(ip));

    /// <summary>
    /// external_gateway_info: a visible network with router:external, enable_snat and external_fixed_ips on that
    /// network. Null and {} both mean "no gateway" (Neutron's dict_or_nodata), so an update with either removes it.
    /// </summary>
    private static async Task<JsonObject?> GatewayAsync(ResourceServices s, Attributes a, JsonObject? info, TenantContext tenant, CancellationToken ct)
    {
        if (info is null || info.Count == 0)
        {
            return null;
        }
        if (info.Any(p => p.Key is not ("network_id" or "enable_snat" or "external_fixed_ips")))
        {
            throw a.Invalid("external_gateway_info", "only network_id, enable_snat and external_fixed_ips are allowed");
        }
        if (!Attributes.TryParseUuid(info["network_id"], out var networkId))
        {
            throw a.Invalid("external_gateway_info",
                $"network_id '{RequestBody.Truncate(info["network_id"]?.ToJsonString() ?? "None")}' is not a valid UUID");
        }
        var fixedIps = info["external_fixed_ips"] switch
        {
            null => [],
            JsonArray ips => PortAddressing.ParseFixedIps(a, "external_fixed_ips", ips),
            _ => throw a.Invalid("external_gateway_info", "external_fixed_ips must be a list"),
        };
        // FOR SHARE: the network's delete (FOR UPDATE) waits for this transaction, then sees the gateway and refuses.
        var network = await s.Db.Networks.FromSqlRaw("select * from networks where id = {0} for share", networkId)
            .AsNoTracking().SingleOrDefaultAsync(ct);
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
        var requestedSubnets = fixedIps.Select(f => f.SubnetId).OfType<Guid>().Distinct().ToList();
        if (requestedSubnets.Count > 0)
        {
            var onNetwork = await s.Db.Subnets.AsNoTracking().Where(x => x.NetworkId == networkId && requestedSubnets.Contains(x.Id))
                .Select(x => x.Id).ToListAsync(ct);
            var missing = requestedSubnets.Except(onNetwork).ToList();
            if (missing.Count > 0)
            {
                throw NeutronException.BadRequest(
                    $"Invalid input for operation: external_fixed_ips included invalid subnet {missing[0]} for network {networkId}.");
            }
        }
        var stored = new JsonArray(fixedIps.Select(f =>
        {
            var ip = new JsonObject();
            if (f.SubnetId is { } id)
            {
                ip["subnet_id"] = id.ToString();
            }
            if (f.Address is { } address)
            {
                ip["ip_address"] = address.ToString();
            }
            return (JsonNode)ip;
        }).ToArray());
        return new JsonObject { ["network_id"] = networkId.ToString(), ["enable_snat"] = snat, ["external_fixed_ips"] = stored };
    }
}
