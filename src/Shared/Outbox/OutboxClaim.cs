using System.Globalization;
using Npgsql;
using NpgsqlTypes;

namespace OutboxSync.Outbox;

/// <summary>
/// The read side of the drain: which resources have work due, and what that work is. Claiming itself is the
/// lease (<see cref="Leases.LeaseStore"/>); these reads take no locks and hold no transaction.
/// </summary>
public sealed class OutboxClaim(NpgsqlDataSource dataSource)
{
    // A resource is due when its HEAD entry (lowest pending seq) is due: a resource backing off, or blocked on a
    // parent, is not pulled forward by entries appended behind its head. Resources under a live lease are skipped
    // (another replica, or this one, is on them), and so are those in @skip (the caller is still finishing them).
    // Oldest head first, so no resource starves. One row per resource: only a head has no older pending entry.
    // The heads in flight are the oldest, so every claim walks past all of them (every replica's, MaxInFlight
    // each): the live leases are read once into a hashed set ("not in"), not looked up per skipped head (3 index
    // pages each; 308 buffers per claim at 64 in flight). Only a candidate list: the acquire's upsert decides.
    private const string DueResourcesSql = """
        select e.resource_id
        from outbox_entries e
        where e.state = 'pending'
          and e.next_attempt_at <= clock_timestamp()
          and not exists (select 1 from outbox_entries p
                          where p.resource_id = e.resource_id and p.state = 'pending' and p.seq < e.seq)
          and e.resource_id not in (select l.resource_id from resource_leases l where l.expires_at > clock_timestamp())
          and e.resource_id <> all(@skip)
        order by e.seq
        limit {0}
        """;

    /// <summary>The query naming at most <paramref name="limit"/> due resources, oldest head first; its one parameter
    /// is <c>@skip</c> (uuid[]). The limit is written into the text: with "limit @limit" PostgreSQL planned every
    /// claim anew (a custom plan looked cheaper for each limit), and planning cost as much as running it. The drain
    /// takes the leases on them in the same statement (<see cref="Leases.LeaseStore.AcquireDueAsync"/>).</summary>
    public static string DueResourcesQuery(int limit) => string.Format(CultureInfo.InvariantCulture, DueResourcesSql, limit);

    private const string PendingSql = """
        select seq, resource_type, operation, revision, payload::text, project_id, depends_on, trace_parent,
               attempts, blocked_by, next_attempt_at <= clock_timestamp(), dispatched_at is not null
        from outbox_entries
        where resource_id = @id and state = 'pending'
        order by seq
        limit @limit
        """;

    private const string RowSql = """
        select resource_type, status, revision_number, applied_revision from resources where id = @id
        """;

    private const string EverDispatchedSql =
        "select exists (select 1 from outbox_entries where resource_id = @id and dispatched_at is not null)";

    /// <summary>One resource's pending entries in seq order (at most <paramref name="limit"/>), its row and history flag.</summary>
    public async Task<ResourceBacklog> ReadBacklogAsync(Guid resourceId, int limit, CancellationToken ct = default)
    {
        await using var batch = dataSource.CreateBatch();
        var pending = new NpgsqlBatchCommand(PendingSql);
        pending.Parameters.AddWithValue("id", resourceId);
        pending.Parameters.AddWithValue("limit", limit);
        batch.BatchCommands.Add(pending);
        var row = new NpgsqlBatchCommand(RowSql);
        row.Parameters.AddWithValue("id", resourceId);
        batch.BatchCommands.Add(row);
        var dispatched = new NpgsqlBatchCommand(EverDispatchedSql);
        dispatched.Parameters.AddWithValue("id", resourceId);
        batch.BatchCommands.Add(dispatched);

        var entries = new List<PendingEntry>();
        ResourceRowState? state = null;
        var everDispatched = false;
        await using var reader = await batch.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
        {
            entries.Add(new PendingEntry(
                Seq: reader.GetInt64(0),
                ResourceType: reader.GetString(1),
                ResourceId: resourceId,
                Operation: reader.GetString(2),
                Revision: reader.GetInt64(3),
                Payload: reader.GetString(4),
                ProjectId: reader.GetString(5),
                DependsOn: reader.GetFieldValue<Guid[]>(6),
                TraceParent: reader.IsDBNull(7) ? null : reader.GetString(7),
                Attempts: reader.GetInt32(8),
                BlockedBy: reader.IsDBNull(9) ? null : reader.GetString(9),
                Due: reader.GetBoolean(10),
                Dispatched: reader.GetBoolean(11)));
        }
        await reader.NextResultAsync(ct);
        if (await reader.ReadAsync(ct))
        {
            state = new ResourceRowState(reader.GetString(0), reader.GetString(1), reader.GetInt64(2), reader.GetInt64(3));
        }
        await reader.NextResultAsync(ct);
        if (await reader.ReadAsync(ct))
        {
            everDispatched = reader.GetBoolean(0);
        }
        return new ResourceBacklog(resourceId, entries, state, everDispatched);
    }

    internal static NpgsqlParameter<long[]> SeqArray(string name, IEnumerable<long> seqs) =>
        new(name, NpgsqlDbType.Array | NpgsqlDbType.Bigint) { TypedValue = seqs.ToArray() };
}
