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
/// <c>/v2.0/subnetpools</c> (Neutron's <c>subnet_allocation</c> extension). A pool is a resource drained like the
/// others; subnets are cut from it by <see cref="SubnetPoolAllocation"/>. A shared pool (admin only) is visible to,
/// and usable by, every project; changing or deleting it stays its owner's.
/// </summary>
public static class SubnetPoolsEndpoints
{
    private static readonly ResourceType Type = ResourceType.SubnetPool;

    public static RouteGroupBuilder MapSubnetPools(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/v2.0/subnetpools").WithTags("subnetpools");
        group.MapGet("/", List);
        group.MapGet("/{id}", Show);
        group.MapPost("/", Create);
        group.MapPut("/{id}", Update);
        group.MapDelete("/{id}", Delete);
        return group;
    }

    public static NeutronException NotFound(object id) => new(404, "SubnetPoolNotFound", $"Subnet pool {id} could not be found.");

    private static Task<Ok<JsonObject>> List(HttpContext context, [AsParameters] ResourceServices s, CancellationToken ct) =>
        ResourceReads.ListAsync(context, s, Type, s.Db.SubnetPools,
            (_, _, pools, _) => Task.FromResult(pools.Select(ResourceViews.SubnetPool).ToList()), ct);

    private static Task<Ok<JsonObject>> Show(string id, HttpContext context, [AsParameters] ResourceServices s, CancellationToken ct) =>
        ResourceReads.ShowAsync(id, context, s, Type, ct);

    private static async Task<Created<JsonObject>> Create(HttpContext context, [AsParameters] ResourceServices s, CancellationToken ct)
    {
        var tenant = TenantContext.From(context);
        var body = await RequestBody.ReadObjectAsync(context.Request, ct);
        var (items, bulk) = RequestBody.Envelope(body, "subnetpool", "subnetpools", allowBulk: true);
        var now = Revisions.Now(s.Time);
        var pools = items.Select(item =>
        {
            var a = new Attributes(item, "subnetpool", isCreate: true);
            a.ReadOnly("id", "status", "status_reason", "revision_number", "created_at", "updated_at", "ip_version", "tags");
            var prefixes = Prefixes(a) ?? throw NeutronException.BadRequest("Failed to parse request. Required attribute 'prefixes' not specified");
            var pool = new SubnetPool
            {
                Id = Guid.NewGuid(),
                ProjectId = tenant.OwnerOfNew(a.ProjectId()),
                Name = a.Name() ?? "",
                Description = a.Description() ?? "",
                IpVersion = prefixes[0].Version,
                Prefixes = [.. prefixes.Select(p => p.ToString())],
                Shared = a.Bool("shared") ?? false,
            };
            if (pool.Shared && !tenant.IsAdmin)
            {
                throw NeutronException.Forbidden("(rule:create_subnetpool and rule:create_subnetpool:shared) is disallowed by policy");
            }
            var bits = pool.IpVersion == 4 ? 32 : 128;
            (pool.MinPrefixlen, pool.MaxPrefixlen, pool.DefaultPrefixlen) =
                Bounds(a, pool.IpVersion, min: pool.IpVersion == 4 ? 8 : 64, max: bits, @default: null);
            RejectUnsupported(a);
            a.RejectUnknown();
            Revisions.Initialize(pool, now);
            return pool;
        }).ToList();

        await s.Accept.RunAsync(() =>
        {
            foreach (var pool in pools)
            {
                s.Db.SubnetPools.Add(pool);
                s.Accept.Outbox.Append(pool, OutboxOperation.Create, () => ResourceViews.SubnetPool(pool));
            }
            return Task.FromResult(0);
        }, ct);
        return Responses.Created(context.Request, Type, pools.Select(ResourceViews.SubnetPool).ToList(), bulk);
    }

    private static async Task<Ok<JsonObject>> Update(string id, HttpContext context, [AsParameters] ResourceServices s, CancellationToken ct)
    {
        var tenant = TenantContext.From(context);
        var body = await RequestBody.ReadObjectAsync(context.Request, ct);
        var (items, _) = RequestBody.Envelope(body, "subnetpool", "subnetpools", allowBulk: false);
        var a = new Attributes(items[0], "subnetpool", isCreate: false);
        a.ReadOnly("id", "project_id", "tenant_id", "status", "status_reason", "revision_number", "created_at", "updated_at",
            "ip_version", "shared", "tags");
        var name = a.Name();
        var description = a.Description();
        var prefixes = Prefixes(a);

        var view = await s.Accept.RunAsync(async () =>
        {
            var pool = await s.Lookup.TryFindAsync<SubnetPool>(Type, id, tenant, forUpdate: true, ct) ?? throw NotFound(RequestBody.Truncate(id));
            Revisions.CheckIfMatch(context.Request, pool);
            Revisions.EnsureNotDeleting(pool);
            (pool.MinPrefixlen, pool.MaxPrefixlen, pool.DefaultPrefixlen) =
                Bounds(a, pool.IpVersion, pool.MinPrefixlen, pool.MaxPrefixlen, pool.DefaultPrefixlen);
            RejectUnsupported(a);
            a.RejectUnknown();
            if (prefixes is not null)
            {
                if (prefixes[0].Version != pool.IpVersion)
                {
                    throw NeutronException.BadRequest("Cannot mix IPv4 and IPv6 prefixes in a subnet pool.");
                }
                // Subnets already cut from the pool must stay inside it: prefixes may grow, never shrink.
                var lost = pool.Prefixes.Select(SubnetCidr.Parse).FirstOrDefault(old => !prefixes.Any(p => p.Covers(old)));
                if (lost is not null)
                {
                    throw NeutronException.BadRequest(
                        $"Illegal update to prefixes: {lost} is not covered by the new prefixes; existing prefixes must be a subset of the new prefixes.");
                }
                pool.Prefixes = [.. prefixes.Select(p => p.ToString())];
            }
            pool.Name = name ?? pool.Name;
            pool.Description = description ?? pool.Description;
            var operation = Revisions.Bump(pool, Revisions.Now(s.Time));
            s.Accept.Outbox.Append(pool, operation, () => ResourceViews.SubnetPool(pool));
            return ResourceViews.SubnetPool(pool);
        }, ct);
        return TypedResults.Ok(Responses.Envelope("subnetpool", view));
    }

    private static async Task<NoContent> Delete(string id, HttpContext context, [AsParameters] ResourceServices s, CancellationToken ct)
    {
        var tenant = TenantContext.From(context);
        await s.Accept.RunAsync(async () =>
        {
            // FOR UPDATE: a subnet create cutting from the pool holds the same row lock until it commits, so the
            // check below sees its subnet, and one that comes later finds the pool being deleted.
            var pool = await s.Lookup.TryFindAsync<SubnetPool>(Type, id, tenant, forUpdate: true, ct) ?? throw NotFound(RequestBody.Truncate(id));
            Revisions.CheckIfMatch(context.Request, pool);
            if (pool.Status == ResourceStatus.PendingDelete)
            {
                return 0;
            }
            // Any subnet row, deleted or not: its CIDR is the pool's until the back end has confirmed its delete.
            if (await s.Db.Subnets.AnyAsync(x => x.SubnetpoolId == pool.Id, ct))
            {
                throw NeutronException.Conflict("SubnetPoolInUse",
                    $"Unable to complete operation on subnet pool {pool.Id}. Subnet pool has existing allocations.");
            }
            pool.Status = ResourceStatus.PendingDelete;
            pool.StatusReason = null;
            s.Accept.Outbox.Append(pool, OutboxOperation.Delete, () => ResourceViews.SubnetPool(pool));
            return 0;
        }, ct);
        return TypedResults.NoContent();
    }

    /// <summary>The <c>prefixes</c> given, parsed and compacted; null when absent.</summary>
    private static List<SubnetCidr>? Prefixes(Attributes a)
    {
        var texts = a.StringList("prefixes", maxItems: 100, maxLength: 64);
        if (texts is null)
        {
            return null;
        }
        if (texts.Count == 0)
        {
            throw NeutronException.BadRequest("Empty subnet pool prefix list.");
        }
        var parsed = texts.Select(text => SubnetCidr.TryParse(text, out var cidr, out var error)
            ? cidr : throw a.Invalid("prefixes", error)).ToList();
        if (parsed.Select(p => p.Version).Distinct().Count() > 1)
        {
            throw NeutronException.BadRequest("Cannot mix IPv4 and IPv6 prefixes in a subnet pool.");
        }
        return SubnetPrefixes.Compact(parsed);
    }

    /// <summary>
    /// min, max and default prefix length, each given or kept (on create: Neutron's defaults, 8 or 64, the address
    /// size, and min), with Neutron's rule min ≤ default ≤ max ≤ the address size.
    /// </summary>
    private static (int Min, int Max, int Default) Bounds(Attributes a, int version, int min, int max, int? @default)
    {
        var bits = version == 4 ? 32 : 128;
        min = a.Int("min_prefixlen", 0, bits) ?? min;
        max = a.Int("max_prefixlen", 0, bits) ?? max;
        var chosen = a.Int("default_prefixlen", 0, bits) ?? @default ?? min;
        if (min > max)
        {
            throw NeutronException.BadRequest($"Illegal prefix bounds: min_prefixlen={min}, max_prefixlen={max}.");
        }
        if (chosen < min || chosen > max)
        {
            throw NeutronException.BadRequest(
                $"Illegal prefix bounds: default_prefixlen={chosen}, {(chosen < min ? $"min_prefixlen={min}" : $"max_prefixlen={max}")}.");
        }
        return (min, max, chosen);
    }

    // Address scopes, default pools and quotas are not implemented: their "off" values are accepted, so clients
    // that send them explicitly keep working; anything else is refused rather than silently ignored.
    private static void RejectUnsupported(Attributes a)
    {
        if (a.Bool("is_default") is true)
        {
            throw a.Invalid("is_default", "default subnet pools are not supported by this deployment");
        }
        if (a.Has("address_scope_id") && a.Raw("address_scope_id") is not null)
        {
            throw a.Invalid("address_scope_id", "address scopes are not supported by this deployment; omit it or send null");
        }
        if (a.Has("default_quota") && a.Raw("default_quota") is not null)
        {
            throw a.Invalid("default_quota", "subnet pool quotas are not supported by this deployment; omit it or send null");
        }
    }
}
