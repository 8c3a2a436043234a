using System.Diagnostics;
using System.Text.Json.Nodes;
using Microsoft.EntityFrameworkCore;
using OutboxSync.Persistence;
using OutboxSync.Resources;

namespace OutboxSync.Outbox;

/// <summary>
/// Collects the outbox entries of one accept transaction, rendered at append time (after the resource change is
/// applied in memory), and writes them right after the resource rows, in the caller's transaction: no rendering
/// or other work sits between the two writes, and nothing commits here.
/// </summary>
public sealed class OutboxWriter(OutboxSyncDbContext db, TimeProvider time)
{
    private readonly List<OutboxEntry> _pending = [];

    public int PendingCount => _pending.Count;

    /// <param name="snapshot">Renders the resource's desired state; called now, so append after the change.</param>
    public void Append(StandardResource resource, string operation, Func<JsonNode> snapshot, params IEnumerable<Guid> dependsOn)
    {
        var now = time.GetUtcNow();
        var entry = new OutboxEntry
        {
            ResourceType = resource.Type.Name,
            ResourceId = resource.Id,
            Operation = operation,
            Revision = resource.RevisionNumber,
            Payload = snapshot().ToJsonString(),
            ProjectId = resource.ProjectId,
            DependsOn = dependsOn.Where(id => id != resource.Id && id != Guid.Empty).Distinct().ToList(),
            TraceParent = Activity.Current?.Id,
            State = OutboxState.Pending,
            CreatedAt = now,
        };
        _pending.Add(entry);
    }

    /// <summary>Forgets appended entries, for a request that is run again from the start (the caller clears the
    /// change tracker too).</summary>
    public void Clear() => _pending.Clear();

    /// <summary>
    /// Saves the caller's pending row changes and the collected entries in one SaveChanges: EF Core batches the
    /// statements, so a single-resource write costs one round trip, not one for the rows and one for the entries.
    /// The caller's transaction makes them atomic.
    /// </summary>
    public async Task FlushAsync(CancellationToken ct)
    {
        db.OutboxEntries.AddRange(_pending);
        _pending.Clear();
        await db.SaveChangesAsync(ct);
    }
}
