using Npgsql;
using OutboxSync.Leases;
using OutboxSync.Resources;

namespace OutboxSync.Outbox;

/// <summary>What a token-guarded write did.</summary>
public enum CompletionResult
{
    /// <summary>Our token still held the lease; the write committed.</summary>
    Written,
    /// <summary>The lease row no longer carries our token; nothing changed.</summary>
    Lost,
}

/// <summary>A confirmed back-end step: the entry whose state was sent, the earlier entries it covered, and its effect.</summary>
public sealed record Confirmation(
    string ResourceType,
    long SentSeq,
    IReadOnlyList<long> CoveredSeqs,
    long Revision,
    bool RemoveRow,
    string SentEntryState = OutboxState.Done);

/// <summary>
/// Every write the drain makes after (or instead of) a back-end call. Each is ONE short transaction that first
/// locks the resource's lease row and checks it still carries our token: a holder whose lease was taken over
/// changes nothing, and a concurrent acquire waits for our commit instead of racing it. Nothing here does I/O
/// other than these statements, so the row lock lives for milliseconds.
/// </summary>
public sealed class OutboxCompletion(NpgsqlDataSource dataSource)
{
    // Invariant: a write whose token is not the lease's current token changes nothing (fencing on our side).
    // FOR UPDATE only inside this short transaction: it orders us against a takeover of the same row.
    private const string GuardSql = "select token from resource_leases where resource_id = @id for update";

    // Invariant: dependents blocked on this resource are re-checked as soon as it makes progress.
    private const string WakeDependentsSql = """
        update outbox_entries set next_attempt_at = clock_timestamp()
        where state = 'pending' and blocked_by = @id::text and next_attempt_at > clock_timestamp()
        """;

    /// <summary>Records that these entries' state is about to be sent (see migrations/004).</summary>
    public Task<CompletionResult> MarkDispatchedAsync(ResourceLease lease, IReadOnlyList<long> seqs, CancellationToken ct = default) =>
        GuardedAsync(lease, async (conn, tx) =>
        {
            // Invariant: once set, dispatched_at is never cleared, so "never sent" is a safe fact to rely on.
            await using var cmd = new NpgsqlCommand(
                "update outbox_entries set dispatched_at = coalesce(dispatched_at, clock_timestamp()), blocked_by = null where seq = any(@seqs)",
                conn, tx);
            cmd.Parameters.Add(OutboxClaim.SeqArray("seqs", seqs));
            await cmd.ExecuteNonQueryAsync(ct);
        }, ct);

    /// <summary>The back end confirmed the step: finish its entries and move the resource forward.</summary>
    public Task<CompletionResult> ConfirmAsync(ResourceLease lease, Confirmation c, CancellationToken ct = default) =>
        GuardedAsync(lease, async (conn, tx) =>
        {
            // Covered entries are superseded, never lost: the sent entry carried their state.
            await using (var entries = new NpgsqlCommand("""
                update outbox_entries
                set state = case when seq = @sent then @sentState else 'superseded' end,
                    completed_at = clock_timestamp(), blocked_by = null, last_error = null
                where state = 'pending' and (seq = @sent or seq = any(@covered))
                """, conn, tx))
            {
                entries.Parameters.AddWithValue("sent", c.SentSeq);
                entries.Parameters.AddWithValue("sentState", c.SentEntryState);
                entries.Parameters.Add(OutboxClaim.SeqArray("covered", c.CoveredSeqs));
                await entries.ExecuteNonQueryAsync(ct);
            }

            var table = TableOf(c.ResourceType);
            if (c.RemoveRow)
            {
                await RemoveRowAsync(conn, tx, table, lease.ResourceId, ct);
            }
            else
            {
                // Invariant: ACTIVE only when the back end holds the latest desired revision and no delete is
                // pending; applied_revision never moves backwards.
                await using var row = new NpgsqlCommand($"""
                    update {table} set
                        applied_revision = greatest(applied_revision, @rev),
                        status = case when status <> 'PENDING_DELETE' and revision_number = greatest(applied_revision, @rev)
                                      then 'ACTIVE' else status end,
                        status_reason = case when status <> 'PENDING_DELETE' and revision_number = greatest(applied_revision, @rev)
                                      then null else status_reason end
                    where id = @id
                    """, conn, tx);
                row.Parameters.AddWithValue("rev", c.Revision);
                row.Parameters.AddWithValue("id", lease.ResourceId);
                await row.ExecuteNonQueryAsync(ct);
            }
            await WakeDependentsAsync(conn, tx, lease.ResourceId, ct);
        }, ct);

    /// <summary>Permanent failure: the entries fail and the resource goes to ERROR with the reason.</summary>
    public Task<CompletionResult> FailAsync(ResourceLease lease, string resourceType, IReadOnlyList<long> seqs, string reason, CancellationToken ct = default) =>
        GuardedAsync(lease, async (conn, tx) =>
        {
            await using (var entries = new NpgsqlCommand("""
                update outbox_entries set state = 'failed', last_error = @reason, blocked_by = null, completed_at = clock_timestamp()
                where state = 'pending' and seq = any(@seqs)
                """, conn, tx))
            {
                entries.Parameters.AddWithValue("reason", reason);
                entries.Parameters.Add(OutboxClaim.SeqArray("seqs", seqs));
                await entries.ExecuteNonQueryAsync(ct);
            }
            if (ResourceType.FromName(resourceType) is not null)
            {
                await using var row = new NpgsqlCommand(
                    $"update {TableOf(resourceType)} set status = 'ERROR', status_reason = @reason where id = @id", conn, tx);
                row.Parameters.AddWithValue("reason", Truncate(reason));
                row.Parameters.AddWithValue("id", lease.ResourceId);
                await row.ExecuteNonQueryAsync(ct);
            }
            // Children waiting on this resource must learn of the failure now, not at their next poll.
            await WakeDependentsAsync(conn, tx, lease.ResourceId, ct);
        }, ct);

    /// <summary>
    /// Tries again later: next_attempt_at = database now + <paramref name="delay"/>. Attempts grow only when
    /// <paramref name="countAttempt"/> (an outage or open circuit is not the entry's fault).
    /// </summary>
    public Task<CompletionResult> RescheduleAsync(ResourceLease lease, IReadOnlyList<long> seqs, TimeSpan delay, string error, bool countAttempt, CancellationToken ct = default) =>
        GuardedAsync(lease, async (conn, tx) =>
        {
            await using var cmd = new NpgsqlCommand("""
                update outbox_entries
                set attempts = attempts + case when @count then 1 else 0 end,
                    next_attempt_at = clock_timestamp() + @delay, last_error = @error, blocked_by = null
                where state = 'pending' and seq = any(@seqs)
                """, conn, tx);
            cmd.Parameters.AddWithValue("count", countAttempt);
            cmd.Parameters.AddWithValue("delay", delay);
            cmd.Parameters.AddWithValue("error", Truncate(error));
            cmd.Parameters.Add(OutboxClaim.SeqArray("seqs", seqs));
            await cmd.ExecuteNonQueryAsync(ct);
        }, ct);

    /// <summary>The entry waits for another resource: record who, spend no attempt, re-check after <paramref name="recheck"/>
    /// (or earlier, when the blocker makes progress).</summary>
    public Task<CompletionResult> BlockAsync(ResourceLease lease, long seq, Guid blockedBy, TimeSpan recheck, CancellationToken ct = default) =>
        GuardedAsync(lease, async (conn, tx) =>
        {
            await using var cmd = new NpgsqlCommand("""
                update outbox_entries set blocked_by = @by, next_attempt_at = clock_timestamp() + @recheck
                where state = 'pending' and seq = @seq
                """, conn, tx);
            cmd.Parameters.AddWithValue("by", blockedBy.ToString());
            cmd.Parameters.AddWithValue("recheck", recheck);
            cmd.Parameters.AddWithValue("seq", seq);
            await cmd.ExecuteNonQueryAsync(ct);
        }, ct);

    private async Task<CompletionResult> GuardedAsync(ResourceLease lease, Func<NpgsqlConnection, NpgsqlTransaction, Task> write, CancellationToken ct)
    {
        await using var conn = await dataSource.OpenConnectionAsync(ct);
        await using var tx = await conn.BeginTransactionAsync(ct);
        await using (var guard = new NpgsqlCommand(GuardSql, conn, tx))
        {
            guard.Parameters.AddWithValue("id", lease.ResourceId);
            var current = await guard.ExecuteScalarAsync(ct);
            if (current is not long token || token != lease.Token.Value)
            {
                await tx.RollbackAsync(ct);
                lease.MarkLost();
                return CompletionResult.Lost;
            }
        }
        await write(conn, tx);
        await tx.CommitAsync(ct);
        return CompletionResult.Written;
    }

    private static async Task RemoveRowAsync(NpgsqlConnection conn, NpgsqlTransaction tx, string table, Guid id, CancellationToken ct)
    {
        // The back end confirmed the delete, so the row goes (a port's allocations and interface cascade). A row
        // still referenced by children cannot go; it is kept as ERROR so an operator sees it rather than a failed drain.
        await tx.SaveAsync("remove_row", ct);
        try
        {
            await using var delete = new NpgsqlCommand($"delete from {table} where id = @id", conn, tx);
            delete.Parameters.AddWithValue("id", id);
            await delete.ExecuteNonQueryAsync(ct);
        }
        catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.ForeignKeyViolation)
        {
            await tx.RollbackAsync("remove_row", ct);
            await using var error = new NpgsqlCommand(
                $"update {table} set status = 'ERROR', status_reason = @reason where id = @id", conn, tx);
            error.Parameters.AddWithValue("reason", Truncate($"deleted at the back end but still referenced: {e.ConstraintName}"));
            error.Parameters.AddWithValue("id", id);
            await error.ExecuteNonQueryAsync(ct);
        }
    }

    private static async Task WakeDependentsAsync(NpgsqlConnection conn, NpgsqlTransaction tx, Guid id, CancellationToken ct)
    {
        await using var wake = new NpgsqlCommand(WakeDependentsSql, conn, tx);
        wake.Parameters.AddWithValue("id", id);
        await wake.ExecuteNonQueryAsync(ct);
    }

    private static string TableOf(string resourceType) =>
        (ResourceType.FromName(resourceType) ?? throw new ArgumentException($"Unknown resource type '{resourceType}'.", nameof(resourceType))).Table;

    private static string Truncate(string s) => s.Length <= 1000 ? s : s[..1000];
}
