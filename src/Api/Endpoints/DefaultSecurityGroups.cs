using System.Collections.Concurrent;
using Microsoft.EntityFrameworkCore;
using Npgsql;
using OutboxSync.Outbox;
using OutboxSync.Resources;

namespace OutboxSync.Api.Endpoints;

/// <summary>
/// Each project's <c>default</c> security group, made on first use as Neutron does (a port created without
/// <c>security_groups</c>, a list or a create of groups), with Neutron's four default rules. The ids are remembered
/// per process so a port create does not look the group up; a remembered id that has gone (an admin deleted the
/// group) fails the port's guard, which forgets it and asks again.
/// </summary>
public sealed class DefaultSecurityGroups
{
    private const int Capacity = 10_000;
    private const string OneDefaultIndex = "security_groups_one_default";

    private readonly ConcurrentDictionary<string, Guid> _known = new(StringComparer.Ordinal);

    public void Forget(string projectId) => _known.TryRemove(projectId, out _);

    /// <summary>The project's default group's id, made (in its own short accept transaction) if it has none.</summary>
    public async Task<Guid> EnsureAsync(ResourceServices s, string projectId, CancellationToken ct)
    {
        if (_known.TryGetValue(projectId, out var known))
        {
            return known;
        }
        var id = await FindAsync(s, projectId, ct) ?? await CreateAsync(s, projectId, ct);
        if (_known.Count >= Capacity)
        {
            _known.Clear(); // bounded: start over rather than grow with the number of projects
        }
        _known[projectId] = id;
        return id;
    }

    private static Task<Guid?> FindAsync(ResourceServices s, string projectId, CancellationToken ct) =>
        s.Db.SecurityGroups.AsNoTracking().Where(g => g.ProjectId == projectId && g.IsDefault)
            .Select(g => (Guid?)g.Id).FirstOrDefaultAsync(ct);

    private static async Task<Guid> CreateAsync(ResourceServices s, string projectId, CancellationToken ct)
    {
        try
        {
            return await s.Accept.RunAsync(() =>
            {
                var group = new SecurityGroup
                {
                    Id = Guid.NewGuid(),
                    ProjectId = projectId,
                    Name = SecurityGroup.DefaultName,
                    Description = "Default security group",
                    IsDefault = true,
                };
                Revisions.Initialize(group, Revisions.Now(s.Time));
                SecurityGroupsEndpoints.Accept(s, group);
                return Task.FromResult(group.Id);
            }, ct);
        }
        catch (DbUpdateException e) when (e.InnerException is PostgresException { ConstraintName: OneDefaultIndex })
        {
            // Another request made it first: use that one.
            s.Db.ChangeTracker.Clear();
            s.Accept.Outbox.Clear();
            return await FindAsync(s, projectId, ct) ?? throw new InvalidOperationException("default security group vanished", e);
        }
    }
}
