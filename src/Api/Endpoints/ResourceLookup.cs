using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using Npgsql;
using OutboxSync.Api.Auth;
using OutboxSync.Api.Errors;
using OutboxSync.Persistence;
using OutboxSync.Resources;

namespace OutboxSync.Api.Endpoints;

/// <summary>
/// Finds a resource the caller may see. Anything not visible is reported exactly like a missing id, so a 404
/// never tells one project about another's resources.
/// </summary>
public sealed class ResourceLookup(OutboxSyncDbContext db, IOptions<ApiOptions> options)
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
