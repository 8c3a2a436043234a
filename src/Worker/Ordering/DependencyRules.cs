using Npgsql;
using NpgsqlTypes;
using OutboxSync.Outbox;

namespace OutboxSync.Worker.Ordering;

/// <summary>Whether a step may go now.</summary>
public abstract record DependencyVerdict
{
    public sealed record Clear : DependencyVerdict;

    /// <summary>Wait for <paramref name="Blocker"/> (its entry <paramref name="BlockerSeq"/>) without spending attempts.</summary>
    public sealed record Blocked(Guid Blocker, long BlockerSeq, string Why) : DependencyVerdict;

    /// <summary>A parent will never exist at the back end: the child fails, naming it.</summary>
    public sealed record ParentFailed(Guid Parent, string ParentType, string Reason) : DependencyVerdict;
}

/// <summary>
/// Parents before children, children's deletes before parents' deletes. depends_on is fixed by the API at insert;
/// these rules read the other resources' live entries, so they need no lease on them.
/// </summary>
public sealed class DependencyRules(NpgsqlDataSource dataSource)
{
    // A child's create/update/add_interface waits while any parent it names has a pending create older than it.
    private const string PendingParentCreateSql = """
        select resource_id, seq, resource_type from outbox_entries
        where state = 'pending' and operation = 'create' and resource_id = any(@deps) and seq < @seq
        order by seq limit 1
        """;

    // A parent whose create failed and which the back end never confirmed will never exist: its children fail.
    private const string FailedParentSql = """
        select id, resource_type, coalesce(status_reason, 'no reason recorded') from resources
        where id = any(@deps) and status = 'ERROR' and applied_revision = 0
        limit 1
        """;

    // A parent's delete waits while any older pending entry names it as a parent (the children's deletes, or
    // anything else of theirs still to be sent). The GIN index on depends_on serves this.
    private const string PendingChildSql = """
        select resource_id, seq, resource_type from outbox_entries
        where state = 'pending' and depends_on @> array[@id]::uuid[] and seq < @seq
        order by seq limit 1
        """;

    public async Task<DependencyVerdict> CheckAsync(DrainStep step, CancellationToken ct = default)
    {
        switch (step)
        {
            case DrainStep.Cancel cancel:
                return await CheckDeleteAsync(cancel.Delete, ct);
            case DrainStep.Send { Operation: OutboxOperation.Delete or OutboxOperation.RemoveInterface } send:
                return await CheckDeleteAsync(send.Entry, ct);
            case DrainStep.Send send:
                var deps = send.All.SelectMany(e => e.DependsOn).Where(d => d != send.Entry.ResourceId).Distinct().ToArray();
                return deps.Length == 0 ? new DependencyVerdict.Clear() : await CheckParentsAsync(send.Entry, deps, ct);
            default:
                return new DependencyVerdict.Clear();
        }
    }

    private async Task<DependencyVerdict> CheckParentsAsync(PendingEntry entry, Guid[] deps, CancellationToken ct)
    {
        await using var batch = dataSource.CreateBatch();
        var pendingCreate = new NpgsqlBatchCommand(PendingParentCreateSql);
        pendingCreate.Parameters.Add(Uuids("deps", deps));
        pendingCreate.Parameters.AddWithValue("seq", entry.Seq);
        batch.BatchCommands.Add(pendingCreate);
        var failed = new NpgsqlBatchCommand(FailedParentSql);
        failed.Parameters.Add(Uuids("deps", deps));
        batch.BatchCommands.Add(failed);

        await using var reader = await batch.ExecuteReaderAsync(ct);
        if (await reader.ReadAsync(ct))
        {
            var (parent, seq, type) = (reader.GetGuid(0), reader.GetInt64(1), reader.GetString(2));
            return new DependencyVerdict.Blocked(parent, seq, $"waiting for {type} {parent} create (seq {seq})");
        }
        await reader.NextResultAsync(ct);
        if (await reader.ReadAsync(ct))
        {
            var (parent, type, reason) = (reader.GetGuid(0), reader.GetString(1), reader.GetString(2));
            return new DependencyVerdict.ParentFailed(parent, type, $"parent {type} {parent} failed: {reason}");
        }
        return new DependencyVerdict.Clear();
    }

    private async Task<DependencyVerdict> CheckDeleteAsync(PendingEntry delete, CancellationToken ct)
    {
        await using var cmd = dataSource.CreateCommand(PendingChildSql);
        cmd.Parameters.AddWithValue("id", delete.ResourceId);
        cmd.Parameters.AddWithValue("seq", delete.Seq);
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        if (await reader.ReadAsync(ct))
        {
            var (child, seq, type) = (reader.GetGuid(0), reader.GetInt64(1), reader.GetString(2));
            return new DependencyVerdict.Blocked(child, seq, $"waiting for child {type} {child} (seq {seq})");
        }
        return new DependencyVerdict.Clear();
    }

    private static NpgsqlParameter<Guid[]> Uuids(string name, Guid[] ids) =>
        new(name, NpgsqlDbType.Array | NpgsqlDbType.Uuid) { TypedValue = ids };
}
