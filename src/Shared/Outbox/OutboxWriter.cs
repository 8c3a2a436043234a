using System.Diagnostics;
using System.Text.Json.Nodes;
using Microsoft.EntityFrameworkCore;
using Npgsql;
using NpgsqlTypes;
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

    // state, attempts and next_attempt_at take the table's defaults ('pending', 0, the transaction's now()), as in
    // FlushAsync, where EF Core leaves them out too.
    private const string InsertSql = """
        insert into outbox_entries (resource_type, resource_id, operation, revision, payload, project_id, depends_on, trace_parent, created_at)
        values ($1, $2, $3, $4, $5, $6, $7, $8, $9)
        """;

    /// <summary>
    /// Adds the collected entries' INSERTs to a raw batch that already holds their resource rows, for an accept
    /// path that writes with Npgsql directly; the caller runs the batch as one transaction, which makes rows and
    /// entries atomic. Forgets the entries, as <see cref="FlushAsync"/> does.
    /// </summary>
    public void AddTo(NpgsqlBatch batch)
    {
        foreach (var entry in _pending)
        {
            batch.BatchCommands.Add(new NpgsqlBatchCommand(InsertSql)
            {
                Parameters =
                {
                    new NpgsqlParameter<string> { TypedValue = entry.ResourceType },
                    new NpgsqlParameter<Guid> { TypedValue = entry.ResourceId },
                    new NpgsqlParameter<string> { TypedValue = entry.Operation },
                    new NpgsqlParameter<long> { TypedValue = entry.Revision },
                    new NpgsqlParameter<string> { TypedValue = entry.Payload, NpgsqlDbType = NpgsqlDbType.Jsonb },
                    new NpgsqlParameter<string> { TypedValue = entry.ProjectId },
                    new NpgsqlParameter<List<Guid>> { TypedValue = entry.DependsOn, NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Uuid },
                    new NpgsqlParameter { Value = (object?)entry.TraceParent ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text },
                    new NpgsqlParameter<DateTimeOffset> { TypedValue = entry.CreatedAt },
                },
            });
        }
        _pending.Clear();
    }
}
