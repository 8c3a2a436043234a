using Microsoft.EntityFrameworkCore;
using OutboxSync.Persistence;
using OutboxSync.Resources;

namespace OutboxSync.Outbox;

/// <summary>
/// Loads resource rows of one type by id, with what <see cref="ResourceSnapshots"/> and <see cref="ResourceViews"/>
/// need to render them (a port's <see cref="Port.FixedIps"/>).
/// </summary>
public static class ResourceRows
{
    /// <param name="tracked">Whether the context tracks the rows (and a port's addresses), for a caller that changes and saves them.</param>
    /// <returns>The rows found, in no particular order; ids without a row are left out.</returns>
    public static async Task<List<StandardResource>> LoadAsync(OutboxSyncDbContext db, ResourceType type, IReadOnlyCollection<Guid> ids,
        bool tracked, CancellationToken ct)
    {
        var wanted = ids.ToArray();
        return type.Name switch
        {
            "network" => [.. await Tracking(db.Networks, tracked).Where(r => wanted.Contains(r.Id)).ToListAsync(ct)],
            "subnet" => [.. await Tracking(db.Subnets, tracked).Where(r => wanted.Contains(r.Id)).ToListAsync(ct)],
            "port" => [.. await Tracking(db.Ports.Include(p => p.FixedIps), tracked).Where(r => wanted.Contains(r.Id)).ToListAsync(ct)],
            "router" => [.. await Tracking(db.Routers, tracked).Where(r => wanted.Contains(r.Id)).ToListAsync(ct)],
            "security_group" => [.. await Tracking(db.SecurityGroups, tracked).Where(r => wanted.Contains(r.Id)).ToListAsync(ct)],
            "security_group_rule" => [.. await Tracking(db.SecurityGroupRules, tracked).Where(r => wanted.Contains(r.Id)).ToListAsync(ct)],
            "subnetpool" => [.. await Tracking(db.SubnetPools, tracked).Where(r => wanted.Contains(r.Id)).ToListAsync(ct)],
            _ => throw new ArgumentException($"No rows for resource type {type.Name}", nameof(type)),
        };
    }

    private static IQueryable<T> Tracking<T>(IQueryable<T> rows, bool tracked) where T : class => tracked ? rows : rows.AsNoTracking();
}
