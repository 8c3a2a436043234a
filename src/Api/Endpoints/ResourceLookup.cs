using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using Npgsql;
using OutboxSync.Api.Auth;
using System.Text.Json.Nodes;
using OutboxSync.Api.Errors;
using OutboxSync.Persistence;
using OutboxSync.Resources;

namespace OutboxSync.Api.Endpoints;

/// <summary>
/// Finds a resource the caller may see. Anything not visible is reported exactly like a missing id, so a 404
/// never tells one project about another's resources.
/// </summary>
public sealed class ResourceLookup(OutboxSyncDbContext db, PortBindings bindings, IOptions<ApiOptions> options)
{
    public bool HidePendingDeletes => options.Value.HidePendingDeletes;

    /// <param name="forUpdate">Lock the row for the rest of the (short) accept transaction, so concurrent
    /// writes to one resource serialise and each gets its own revision.</param>
    public async Task<T> FindAsync<T>(ResourceType type, string id, TenantContext tenant, bool forUpdate, CancellationToken ct)
        where T : StandardResource
    {
        var found = await TryFindAsync<T>(type, id, tenant, forUpdate, ct);
        return found ?? throw NeutronException.NotFound(type.Name, Requests.RequestBody.Truncate(id));
    }

    public async Task<T?> TryFindAsync<T>(ResourceType type, string id, TenantContext tenant, bool forUpdate, CancellationToken ct)
        where T : StandardResource
    {
        if (!Guid.TryParse(id, out var guid))
        {
            return null;
        }
        var parameters = new List<NpgsqlParameter> { new("id", guid) };
        // Changing a resource needs ownership: a shared network is visible to every project but changeable
        // only by its owner (and admin); to anyone else it is "not found", like any other unchangeable id.
        var visibility = forUpdate
            ? Lists.ResourceLister.Ownership(tenant, parameters)
            : Lists.ResourceLister.Visibility(type, tenant, parameters);
        var sql = $"select t.* from {type.Table} t where t.id = @id and {visibility}{(forUpdate ? " for update" : "")}";
        var set = db.Set<T>();
        var entity = await (forUpdate ? set.FromSqlRaw(sql, parameters.Cast<object>().ToArray())
                : set.FromSqlRaw(sql, parameters.Cast<object>().ToArray()).AsNoTracking())
            .SingleOrDefaultAsync(ct);
        if (entity is null || (HidePendingDeletes && entity.Status == ResourceStatus.PendingDelete))
        {
            return null;
        }
        if (entity is Port port)
        {
            port.FixedIps = forUpdate
                ? await db.IpAllocations.Where(a => a.PortId == port.Id).ToListAsync(ct)
                : await db.IpAllocations.AsNoTracking().Where(a => a.PortId == port.Id).ToListAsync(ct);
        }
        return entity;
    }

    /// <summary>
    /// A show: the resource the caller may see, with the related rows its view needs, in one statement, rendered;
    /// null when there is none to show. EF Core's compiled queries skip the per-call expression-tree work
    /// (funcletizing, the query-cache lookup, FromSql's parameter expansion) that was half of the API's CPU on a
    /// GET, and each type's related rows (a network's subnet ids, a port's addresses) come in the same round trip.
    /// </summary>
    public async Task<JsonObject?> FindViewAsync(ResourceType type, string id, TenantContext tenant, CancellationToken ct)
    {
        if (!Guid.TryParse(id, out var guid))
        {
            return null;
        }
        var (admin, project) = (tenant.IsAdmin, tenant.ProjectId);
        return type.Name switch
        {
            "network" => await NetworkById(db, guid, admin, project, ct) is { } n && Shown(n.Network) ? ResourceViews.Network(n.Network, n.SubnetIds) : null,
            "subnet" => await SubnetById(db, guid, admin, project, ct) is { } s && Shown(s) ? ResourceViews.Subnet(s) : null,
            "port" => await PortById(db, guid, admin, project, ct) is { } p && Shown(p) ? bindings.Present(ResourceViews.Port(p), tenant) : null,
            "router" => await RouterById(db, guid, admin, project, ct) is { } r && Shown(r) ? ResourceViews.Router(r) : null,
            "security_group" => await SecurityGroupById(db, guid, admin, project, ct) is { } g && Shown(g.Group) ? SecurityGroupsEndpoints.View(g.Group, g.Rules) : null,
            "security_group_rule" => await RuleById(db, guid, admin, project, ct) is { } rule && Shown(rule) ? ResourceViews.SecurityGroupRule(rule) : null,
            "subnetpool" => await SubnetPoolById(db, guid, admin, project, ct) is { } pool && Shown(pool) ? ResourceViews.SubnetPool(pool) : null,
            _ => throw new ArgumentOutOfRangeException(nameof(type), type.Name, "not a resource type with a show"),
        };
    }

    private bool Shown(StandardResource r) => !(HidePendingDeletes && r.Status == ResourceStatus.PendingDelete);

    private sealed record NetworkRow(Network Network, List<Guid> SubnetIds);

    // The visibility predicates below are ResourceLister.Visibility's rules in LINQ (a network is also visible to
    // every project when shared or external, and so are its subnets); the tenancy suite's show and list cases hold
    // the two forms to the same answers.
    private static readonly Func<OutboxSyncDbContext, Guid, bool, string, CancellationToken, Task<NetworkRow?>> NetworkById =
        EF.CompileAsyncQuery((OutboxSyncDbContext db, Guid id, bool admin, string project, CancellationToken _) =>
            db.Networks.AsNoTracking()
                .Where(n => n.Id == id && (admin || n.ProjectId == project || n.Shared || n.RouterExternal))
                .Select(n => new NetworkRow(n, db.Subnets.Where(s => s.NetworkId == n.Id)
                    .OrderBy(s => s.CreatedAt).ThenBy(s => s.Id).Select(s => s.Id).ToList()))
                .FirstOrDefault());

    private static readonly Func<OutboxSyncDbContext, Guid, bool, string, CancellationToken, Task<Subnet?>> SubnetById =
        EF.CompileAsyncQuery((OutboxSyncDbContext db, Guid id, bool admin, string project, CancellationToken _) =>
            db.Subnets.AsNoTracking().FirstOrDefault(s => s.Id == id && (admin || s.ProjectId == project
                || db.Networks.Any(n => n.Id == s.NetworkId && (n.Shared || n.RouterExternal)))));

    private static readonly Func<OutboxSyncDbContext, Guid, bool, string, CancellationToken, Task<Port?>> PortById =
        EF.CompileAsyncQuery((OutboxSyncDbContext db, Guid id, bool admin, string project, CancellationToken _) =>
            db.Ports.AsNoTracking().Include(p => p.FixedIps).FirstOrDefault(p => p.Id == id && (admin || p.ProjectId == project)));

    private static readonly Func<OutboxSyncDbContext, Guid, bool, string, CancellationToken, Task<SubnetPool?>> SubnetPoolById =
        EF.CompileAsyncQuery((OutboxSyncDbContext db, Guid id, bool admin, string project, CancellationToken _) =>
            db.SubnetPools.AsNoTracking().FirstOrDefault(p => p.Id == id && (admin || p.ProjectId == project || p.Shared)));

    private static readonly Func<OutboxSyncDbContext, Guid, bool, string, CancellationToken, Task<Router?>> RouterById =
        EF.CompileAsyncQuery((OutboxSyncDbContext db, Guid id, bool admin, string project, CancellationToken _) =>
            db.Routers.AsNoTracking().FirstOrDefault(r => r.Id == id && (admin || r.ProjectId == project)));

    private sealed record SecurityGroupRow(SecurityGroup Group, List<SecurityGroupRule> Rules);

    private static readonly Func<OutboxSyncDbContext, Guid, bool, string, CancellationToken, Task<SecurityGroupRow?>> SecurityGroupById =
        EF.CompileAsyncQuery((OutboxSyncDbContext db, Guid id, bool admin, string project, CancellationToken _) =>
            db.SecurityGroups.AsNoTracking()
                .Where(g => g.Id == id && (admin || g.ProjectId == project))
                .Select(g => new SecurityGroupRow(g, db.SecurityGroupRules
                    .Where(r => r.SecurityGroupId == g.Id && r.Status != ResourceStatus.PendingDelete)
                    .OrderBy(r => r.CreatedAt).ThenBy(r => r.Id).ToList()))
                .FirstOrDefault());

    private static readonly Func<OutboxSyncDbContext, Guid, bool, string, CancellationToken, Task<SecurityGroupRule?>> RuleById =
        EF.CompileAsyncQuery((OutboxSyncDbContext db, Guid id, bool admin, string project, CancellationToken _) =>
            db.SecurityGroupRules.AsNoTracking().FirstOrDefault(r => r.Id == id && (admin || r.ProjectId == project)));

    public async Task<Dictionary<Guid, List<Guid>>> SubnetIdsAsync(IReadOnlyCollection<Guid> networkIds, CancellationToken ct)
    {
        var rows = await db.Subnets.AsNoTracking()
            .Where(s => networkIds.Contains(s.NetworkId))
            .OrderBy(s => s.CreatedAt).ThenBy(s => s.Id)
            .Select(s => new { s.NetworkId, s.Id })
            .ToListAsync(ct);
        return rows.GroupBy(r => r.NetworkId).ToDictionary(g => g.Key, g => g.Select(r => r.Id).ToList());
    }

    public async Task LoadFixedIpsAsync(IReadOnlyList<Port> ports, CancellationToken ct)
    {
        var ids = ports.Select(p => p.Id).ToList();
        var allocations = await db.IpAllocations.AsNoTracking().Where(a => ids.Contains(a.PortId)).ToListAsync(ct);
        var byPort = allocations.GroupBy(a => a.PortId).ToDictionary(g => g.Key, g => g.ToList());
        foreach (var port in ports)
        {
            port.FixedIps = byPort.GetValueOrDefault(port.Id) ?? [];
        }
    }
}
