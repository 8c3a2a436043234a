using System.Collections.Concurrent;
using System.Globalization;
using Npgsql;
using NpgsqlTypes;
using OutboxSync.Leases;

namespace OutboxSync.Outbox;

/// <summary>A resource the drain's claim won: its lease, and its backlog as of the claim.</summary>
public sealed record ClaimedResource(ResourceLease Lease, ResourceBacklog Backlog);

/// <summary>What the drain's claim (<see cref="OutboxClaim.ClaimDueAsync"/>) found: the resources it won, and how many
/// were due. <see cref="Due"/> above <c>Won.Count</c> means another replica took some of them first.</summary>
public sealed record DueClaim(IReadOnlyList<ClaimedResource> Won, int Due);

/// <summary>
/// The read side of the drain: which resources have work due, and what that work is. The claim takes the leases
/// (<see cref="LeaseStore"/>'s acquire) on the due resources and reads their backlogs in the same statement; the
/// later reads of a drain take no locks and hold no transaction.
/// </summary>
public sealed class OutboxClaim(NpgsqlDataSource dataSource, LeaseStore leases)
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
    /// takes the leases on them in the same statement (<see cref="ClaimDueAsync"/>).</summary>
    public static string DueResourcesQuery(int limit) => string.Format(CultureInfo.InvariantCulture, DueResourcesSql, limit);

    // A pending entry as PendingEntry reads it (ReadEntry), from the claim and from a later read alike.
    private const string EntryColumns = """
        seq, resource_type, operation, revision, payload::text, project_id, depends_on, trace_parent,
               attempts, blocked_by, next_attempt_at <= clock_timestamp(), dispatched_at is not null, idempotency_key
        """;

    // The drain's claim: the lease acquire over the due resources, the dispatch mark and every won resource's first
    // backlog, in ONE statement. The first step of a drain then needs no read and, for a create, no mark of its own:
    // a resource with one entry (most of them) costs the claim's share and its confirmation.
    // Invariant (migrations/004): a create is marked dispatched before it can be sent, so an unmarked create never
    // reached the back end and may be cancelled by a delete without a call. The mark is made here, in the
    // statement that won the lease, for creates with no delete pending; a create with a delete behind it stays
    // unmarked for the drain to cancel, or to mark itself before sending it (ResourceDrainer). A create marked here
    // that is then not sent (its parent not yet applied) only costs a later delete its back-end call.
    // The data-modifying CTEs and the final select share one snapshot: the backlog is read as of the claim, and
    // "marked" lends the select the marks it made. Rows come grouped per resource, entries in seq order.
    // "Ever dispatched" is a scalar subquery with LIMIT 1, one index probe per won resource: written as EXISTS,
    // PostgreSQL hashed it and read every dispatched entry of every resource (6,585 buffers per claim).
    private const string ClaimSelect = """
        , marked as (
            update outbox_entries e set dispatched_at = clock_timestamp()
            from won
            where e.resource_id = won.resource_id and e.state = 'pending' and e.operation = 'create' and e.dispatched_at is null
              and not exists (select 1 from outbox_entries d
                              where d.resource_id = won.resource_id and d.state = 'pending' and d.operation = 'delete')
            returning e.resource_id, e.seq
        )
        select c.resource_id, won.token, previous.holder,
               r.resource_type, r.status, r.revision_number, r.applied_revision,
               (select true from outbox_entries x where x.resource_id = won.resource_id and x.dispatched_at is not null limit 1) is not null
                   or exists (select 1 from marked m where m.resource_id = won.resource_id),
               b.seq, b.resource_type, b.operation, b.revision, b.payload::text, b.project_id, b.depends_on, b.trace_parent,
               b.attempts, b.blocked_by, b.next_attempt_at <= clock_timestamp(),
               b.dispatched_at is not null or exists (select 1 from marked m where m.seq = b.seq), b.idempotency_key
        from candidates c
        left join won on won.resource_id = c.resource_id
        left join previous on previous.resource_id = c.resource_id
        left join resources r on r.id = won.resource_id
        left join lateral (
            select * from outbox_entries p where p.resource_id = won.resource_id and p.state = 'pending' order by p.seq limit {0}
        ) b on true
        order by c.resource_id, b.seq
        """;

    // Sent before the claim in the same batch (one implicit transaction, so "true" = local to it): no JIT for the
    // claim. Its estimated cost passes jit_above_cost once the tables are large (100,000 ports), and compiling it
    // took 100–160 ms for 2 ms of work, on every claim (S8's 100k and 1M rounds, auto_explain). The prepared claim
    // keeps the plan made under this setting; a replan (after an analyze) happens here again.
    private const string PlanSettingsSql = "select set_config('jit', 'off', true)";

    // One text per (claim limit, backlog limit): both are written in, so each prepared statement keeps its plan.
    private static readonly ConcurrentDictionary<(int Limit, int Backlog), string> ClaimByLimits = new();

    private const string PendingSql = $"""
        select {EntryColumns}
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
            entries.Add(ReadEntry(reader, 0, resourceId));
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

    /// <summary>
    /// Takes the leases on at most <paramref name="limit"/> resources whose head entry is due and which nobody holds,
    /// oldest head first, leaving out <paramref name="skip"/>, and reads each won resource's backlog (at most
    /// <paramref name="backlogLimit"/> entries): the drain's claim. Returns what was won and how many resources were
    /// due (more than won when another replica took some first).
    /// </summary>
    public async Task<DueClaim> ClaimDueAsync(int limit, string holder, IReadOnlyCollection<Guid> skip, int backlogLimit, CancellationToken ct = default)
    {
        if (limit <= 0)
        {
            return new DueClaim([], 0);
        }
        var sql = ClaimByLimits.GetOrAdd((limit, backlogLimit), static k =>
            LeaseStore.AcquireCtes(DueResourcesQuery(k.Limit)) + string.Format(CultureInfo.InvariantCulture, ClaimSelect, k.Backlog));
        await using var batch = dataSource.CreateBatch();
        batch.BatchCommands.Add(new NpgsqlBatchCommand(PlanSettingsSql));
        var cmd = new NpgsqlBatchCommand(sql);
        cmd.Parameters.Add(new NpgsqlParameter<Guid[]>("skip", NpgsqlDbType.Array | NpgsqlDbType.Uuid) { TypedValue = skip.ToArray() });
        batch.BatchCommands.Add(cmd);
        var sentAt = leases.BindAcquire(cmd.Parameters, holder);

        var won = new List<ClaimedResource>();
        var due = 0;
        await using var reader = await batch.ExecuteReaderAsync(ct);
        await reader.NextResultAsync(ct);
        var more = await reader.ReadAsync(ct);
        while (more)
        {
            due++;
            var id = reader.GetGuid(0);
            if (reader.IsDBNull(1))
            {
                more = await reader.ReadAsync(ct);
                continue;
            }
            var lease = leases.Granted(id, holder, reader.GetInt64(1), sentAt, reader.IsDBNull(2) ? null : reader.GetString(2));
            var row = reader.IsDBNull(3) ? null : new ResourceRowState(reader.GetString(3), reader.GetString(4), reader.GetInt64(5), reader.GetInt64(6));
            var everDispatched = reader.GetBoolean(7);
            var entries = new List<PendingEntry>();
            do
            {
                if (!reader.IsDBNull(8))
                {
                    entries.Add(ReadEntry(reader, 8, id));
                }
                more = await reader.ReadAsync(ct);
            }
            while (more && reader.GetGuid(0) == id);
            won.Add(new ClaimedResource(lease, new ResourceBacklog(id, entries, row, everDispatched)));
        }
        return new DueClaim(won, due);
    }

    private static PendingEntry ReadEntry(NpgsqlDataReader reader, int at, Guid resourceId) => new(
        Seq: reader.GetInt64(at),
        ResourceType: reader.GetString(at + 1),
        ResourceId: resourceId,
        Operation: reader.GetString(at + 2),
        Revision: reader.GetInt64(at + 3),
        Payload: reader.GetString(at + 4),
        ProjectId: reader.GetString(at + 5),
        DependsOn: reader.GetFieldValue<Guid[]>(at + 6),
        TraceParent: reader.IsDBNull(at + 7) ? null : reader.GetString(at + 7),
        Attempts: reader.GetInt32(at + 8),
        BlockedBy: reader.IsDBNull(at + 9) ? null : reader.GetString(at + 9),
        Due: reader.GetBoolean(at + 10),
        Dispatched: reader.GetBoolean(at + 11),
        IdempotencyKey: reader.IsDBNull(at + 12) ? null : reader.GetGuid(at + 12));

    internal static NpgsqlParameter<long[]> SeqArray(string name, IEnumerable<long> seqs) =>
        new(name, NpgsqlDbType.Array | NpgsqlDbType.Bigint) { TypedValue = seqs.ToArray() };
}
