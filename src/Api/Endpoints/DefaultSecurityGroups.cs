using System.Collections.Concurrent;
using Microsoft.EntityFrameworkCore;
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

    private readonly ConcurrentDictionary<string, Guid> _known = new(StringComparer.Ordinal);

    // A project's first port burst (Nova booting many VMs) must make one group, not one attempt per request: misses
    // wait here, outside any transaction, and all but the first find the group the first made.
    private readonly SemaphoreSlim _making = new(1, 1);

    public void Forget(string projectId) => _known.TryRemove(projectId, out _);

    /// <summary>The project's default group's id, made (in its own short accept transaction) if it has none.</summary>
    public async Task<Guid> EnsureAsync(ResourceServices s, string projectId, CancellationToken ct)
    {
        if (_known.TryGetValue(projectId, out var known))
        {
            return known;
        }
        await _making.WaitAsync(ct);
        try
        {
            if (_known.TryGetValue(projectId, out known))
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
        finally
        {
            _making.Release();
        }
    }

    private static Task<Guid?> FindAsync(ResourceServices s, string projectId, CancellationToken ct) =>
        s.Db.SecurityGroups.AsNoTracking().Where(g => g.ProjectId == projectId && g.IsDefault)
            .Select(g => (Guid?)g.Id).FirstOrDefaultAsync(ct);

    private static Task<Guid> CreateAsync(ResourceServices s, string projectId, CancellationToken ct) =>
        s.Accept.RunAsync(async () =>
        {
            // Another API process may be making the same project's group: the transaction-scoped lock on the
            // project (advisory class 7302; 7301 is the groups' own) makes the second wait for the first's commit
            // and then find its group, so the one-default index is never what decides (a losing insert would be
            // an error logged with its stack for each request of the burst).
            await s.Db.Database.ExecuteSqlAsync($"select pg_advisory_xact_lock(7302, hashtext({projectId}))", ct);
            if (await FindAsync(s, projectId, ct) is { } made)
            {
                return made;
            }
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
            return group.Id;
        }, ct);
}
