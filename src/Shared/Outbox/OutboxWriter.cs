using System.Diagnostics;
using System.Text.Json;
using OutboxSync.Persistence;
using OutboxSync.Resources;

namespace OutboxSync.Outbox;

/// <summary>
/// Appends outbox entries to the caller's open transaction. It never commits and never does I/O beyond the
/// INSERT, so the accept transaction stays as short as the resource write itself.
/// </summary>
public sealed class OutboxWriter(OutboxSyncDbContext db, TimeProvider time)
{
    public OutboxEntry Append(StandardResource resource, string operation, JsonElement snapshot, IEnumerable<Guid>? dependsOn = null)
    {
        var now = time.GetUtcNow();
        var entry = new OutboxEntry
        {
            ResourceType = resource.Type.Name,
            ResourceId = resource.Id,
            Operation = operation,
            Revision = resource.RevisionNumber,
            Payload = snapshot.GetRawText(),
            ProjectId = resource.ProjectId,
            DependsOn = dependsOn?.Distinct().Where(id => id != resource.Id).ToList() ?? [],
            TraceParent = Activity.Current?.Id,
            State = OutboxState.Pending,
            NextAttemptAt = now,
            CreatedAt = now,
        };
        db.OutboxEntries.Add(entry);
        return entry;
    }
}
