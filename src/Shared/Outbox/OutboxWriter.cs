using System.Diagnostics;
using System.Text.Json.Nodes;
using Microsoft.EntityFrameworkCore;
using OutboxSync.Persistence;
using OutboxSync.Resources;

namespace OutboxSync.Outbox;

/// <summary>
/// Collects the outbox entries of one accept transaction and writes them after the resource rows, in the same
/// transaction. It never commits and does no I/O beyond the INSERT, so the accept transaction stays short.
/// </summary>
public sealed class OutboxWriter(OutboxSyncDbContext db, TimeProvider time)
{
    private readonly List<(StandardResource Resource, string Operation, Func<JsonNode> Snapshot, Guid[] DependsOn)> _pending = [];

    public int PendingCount => _pending.Count;

    /// <param name="snapshot">Renders the resource's desired state; called at flush, after the resource row is written.</param>
    public void Append(StandardResource resource, string operation, Func<JsonNode> snapshot, params IEnumerable<Guid> dependsOn) =>
        _pending.Add((resource, operation, snapshot, dependsOn.Where(id => id != resource.Id && id != Guid.Empty).Distinct().ToArray()));

    /// <summary>Forgets collected entries, for a request that is run again from the start.</summary>
    public void Clear() => _pending.Clear();

    /// <summary>Inserts the collected entries; the caller's transaction makes them atomic with the resource change.</summary>
    public async Task FlushAsync(CancellationToken ct)
    {
        if (_pending.Count == 0)
        {
            return;
        }
        var now = time.GetUtcNow();
        var traceParent = Activity.Current?.Id;
        foreach (var (resource, operation, snapshot, dependsOn) in _pending)
        {
            db.OutboxEntries.Add(new OutboxEntry
            {
                ResourceType = resource.Type.Name,
                ResourceId = resource.Id,
                Operation = operation,
                Revision = resource.RevisionNumber,
                Payload = snapshot().ToJsonString(),
                ProjectId = resource.ProjectId,
                DependsOn = [.. dependsOn],
                TraceParent = traceParent,
                State = OutboxState.Pending,
                NextAttemptAt = now,
                CreatedAt = now,
            });
        }
        _pending.Clear();
        await db.SaveChangesAsync(ct);
    }
}
