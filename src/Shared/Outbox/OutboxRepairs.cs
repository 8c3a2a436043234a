using System.Diagnostics;
using Microsoft.EntityFrameworkCore;
using Npgsql;
using NpgsqlTypes;
using OutboxSync.Persistence;
using OutboxSync.Resources;

namespace OutboxSync.Outbox;

/// <summary>What an operator's change to one outbox entry found.</summary>
public enum EntryRepairOutcome
{
    Done,
    NotFound,
    /// <summary>The entry is in a state the change does not apply to (see <see cref="EntryRepair.Entry"/>).</summary>
    WrongState,
}

/// <summary>The result of <see cref="OutboxRepairs.RetryFailedAsync"/> or <see cref="OutboxRepairs.DiscardAsync"/>.</summary>
public sealed record EntryRepair(EntryRepairOutcome Outcome, OutboxEntry? Entry, long? RetriedAs = null);

/// <summary>
/// The changes to outbox entries made outside the accept path (<see cref="OutboxWriter"/>) and the drain
/// (<see cref="OutboxCompletion"/>): an operator's retry and discard, and reconciliation's delete of a back-end
/// orphan. With those two, this is every statement that inserts or changes outbox entries. Operator changes run in
/// the caller's transaction (which also records the audit row); nothing commits here.
/// </summary>
public static class OutboxRepairs
{
    // Invariant: a retried entry becomes a NEW entry (new seq, so a new Idempotency-Key: the back end caches its
    // final answer per key, and the old key would only replay the rejection). The copy keeps dispatched_at, since
    // the change may have reached the back end before it failed; its next_attempt_at defaults to the database's now.
    private const string CopyForRetrySql = """
        insert into outbox_entries (resource_type, resource_id, operation, revision, payload, project_id, depends_on, trace_parent, dispatched_at)
        select resource_type, resource_id, operation, revision, payload, project_id, depends_on, trace_parent, dispatched_at
        from outbox_entries where seq = {0}
        returning seq as "Value"
        """;

    // Finished by the database's clock, as every other time is (retention compares completed_at with it; the API's
    // clock may run ahead).
    private const string FinishSql = "update outbox_entries set state = {0}, completed_at = clock_timestamp() where seq = {1}";

    // Invariant: an orphan is deleted only if no resource here is it or can become it — no row of any type with
    // its id (the API generates ids and never reuses them, so none can appear later) and no entry for it pending or
    // finished since the run began (a create or delete in flight). One statement: the check and the insert agree.
    private const string OrphanEntrySql = """
        insert into outbox_entries (resource_type, resource_id, operation, revision, payload, project_id, depends_on, trace_parent, state, created_at)
        select @type, @id, @operation, @revision, @payload::jsonb, '', @depends_on, @trace_parent, 'pending', clock_timestamp()
        where not exists (select 1 from resources where id = @id)
          and not exists (select 1 from outbox_entries e
                          where e.resource_id = @id and (e.state = 'pending' or e.completed_at >= @since))
        returning seq
        """;

    /// <summary>
    /// Queues a failed entry again as a new entry carrying the same change, with fresh attempts; the failed one is
    /// superseded (keeping its last_error) and its resource goes back to PENDING_*. Only a failed entry is retried.
    /// </summary>
    public static async Task<EntryRepair> RetryFailedAsync(OutboxSyncDbContext db, long seq, CancellationToken ct)
    {
        var entry = await LockAsync(db, seq, ct);
        if (entry is null || entry.State != OutboxState.Failed)
        {
            return new EntryRepair(entry is null ? EntryRepairOutcome.NotFound : EntryRepairOutcome.WrongState, entry);
        }
        var retriedAs = (await db.Database.SqlQueryRaw<long>(CopyForRetrySql, seq).ToListAsync(ct))[0];
        var table = ResourceType.FromName(entry.ResourceType)!.Table;
        var status = entry.Operation is OutboxOperation.Delete or OutboxOperation.RemoveInterface
            ? $"'{ResourceStatus.PendingDelete}'"
            : "case when applied_revision = 0 then 'PENDING_CREATE' else 'PENDING_UPDATE' end";
        // Table and status expression come from the fixed ResourceType list and constants, never from a request.
        var markPending = $"update {table} set status = {status}, status_reason = null where id = {{0}}";
        await db.Database.ExecuteSqlRawAsync(markPending, [entry.ResourceId], ct);
        await db.Database.ExecuteSqlRawAsync(FinishSql, [OutboxState.Superseded, seq], ct);
        entry.State = OutboxState.Superseded;
        return new EntryRepair(EntryRepairOutcome.Done, entry, retriedAs);
    }

    /// <summary>Drops a pending or failed entry; its resource goes to ERROR naming the discard, since the back end
    /// will not receive that change.</summary>
    public static async Task<EntryRepair> DiscardAsync(OutboxSyncDbContext db, long seq, string actor, CancellationToken ct)
    {
        var entry = await LockAsync(db, seq, ct);
        if (entry is null || entry.State is not (OutboxState.Pending or OutboxState.Failed))
        {
            return new EntryRepair(entry is null ? EntryRepairOutcome.NotFound : EntryRepairOutcome.WrongState, entry);
        }
        var table = ResourceType.FromName(entry.ResourceType)!.Table;
        // The table name comes from the fixed ResourceType list, never from the request.
        var markError = $"update {table} set status = 'ERROR', status_reason = {{0}} where id = {{1}}";
        await db.Database.ExecuteSqlRawAsync(markError, [$"outbox entry {seq} ({entry.Operation}) discarded by operator {actor}", entry.ResourceId], ct);
        await db.Database.ExecuteSqlRawAsync(FinishSql, [OutboxState.Discarded, seq], ct);
        entry.State = OutboxState.Discarded;
        return new EntryRepair(EntryRepairOutcome.Done, entry);
    }

    /// <summary>
    /// Enqueues the delete (or interface detach) of something the back end holds and this database does not, unless
    /// a resource with that id exists here or moved since <paramref name="since"/>. Returns the new entry's seq, or
    /// null when the guard held it back.
    /// </summary>
    public static async Task<long?> EnqueueOrphanAsync(NpgsqlDataSource dataSource, ResourceType type, Guid id, string operation, long revision,
        string payload, IEnumerable<Guid> dependsOn, DateTimeOffset since, CancellationToken ct)
    {
        await using var cmd = dataSource.CreateCommand(OrphanEntrySql);
        cmd.Parameters.AddWithValue("type", type.Name);
        cmd.Parameters.AddWithValue("id", id);
        cmd.Parameters.AddWithValue("operation", operation);
        cmd.Parameters.AddWithValue("revision", revision);
        cmd.Parameters.AddWithValue("payload", payload);
        cmd.Parameters.Add(new NpgsqlParameter("depends_on", NpgsqlDbType.Array | NpgsqlDbType.Uuid) { Value = dependsOn.Where(d => d != id).Distinct().ToArray() });
        cmd.Parameters.Add(new NpgsqlParameter("trace_parent", NpgsqlDbType.Text) { Value = (object?)Activity.Current?.Id ?? DBNull.Value });
        cmd.Parameters.AddWithValue("since", since);
        return await cmd.ExecuteScalarAsync(ct) is long seq ? seq : null;
    }

    // FOR UPDATE for the caller's transaction: a concurrent retry or discard of the same entry waits and then sees
    // the state this one left.
    private static Task<OutboxEntry?> LockAsync(OutboxSyncDbContext db, long seq, CancellationToken ct) =>
        db.OutboxEntries.FromSqlRaw("select * from outbox_entries where seq = {0} for update", seq).AsNoTracking().SingleOrDefaultAsync(ct);
}
