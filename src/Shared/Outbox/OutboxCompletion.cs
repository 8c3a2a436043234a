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
    /// <summary>Written, and nothing of the resource being pending any more, its lease was given up in the same
    /// transaction (<see cref="Confirmation.ReleaseWhenIdle"/>).</summary>
    Released,
    /// <summary>As <see cref="Released"/>, but the lease had already run out by the database clock (nobody had taken it
    /// yet): the drain outlived its lease, which the caller reports as a release would.</summary>
    ReleasedAfterExpiry,
}

/// <summary>A confirmed back-end step: the entry whose state was sent, the earlier entries it covered, and its effect.</summary>
public sealed record Confirmation(
    string ResourceType,
    long SentSeq,
    IReadOnlyList<long> CoveredSeqs,
    long Revision,
    bool RemoveRow,
    string SentEntryState = OutboxState.Done)
{
    /// <summary>Give the lease up in the same transaction when no entry of the resource is pending after this one,
    /// which saves the drain its next read and the release (two round trips per resource).</summary>
    public bool ReleaseWhenIdle { get; init; }
}

/// <summary>
/// Every write the drain makes after (or instead of) a back-end call. Each is ONE short transaction, sent as one
/// batch (one round trip, PostgreSQL's implicit transaction), so it is never "idle in transaction" waiting on us:
/// it first locks the resource's lease row and reads its token, and every write in it is conditioned on that
/// token still being ours. A holder whose lease was taken over changes nothing, and a concurrent acquire waits
/// for our commit instead of racing it.
/// </summary>
public sealed class OutboxCompletion(NpgsqlDataSource dataSource)
{
    // Invariant: a write whose token is not the lease's current token changes nothing (fencing on our side).
    // FOR UPDATE lives only for this batch: it orders us against a takeover of the same row.
    private const string GuardSql = "select token from resource_leases where resource_id = @lease_id for update";

    // Appended to every write in the batch; the row lock above keeps its answer stable until commit.
    private const string OurToken = "exists (select 1 from resource_leases where resource_id = @lease_id and token = @lease_token)";

    // Invariant: dependents blocked on this resource are re-checked as soon as it makes progress.
    // Invariant: the lease goes only when nothing of the resource is pending, not even an entry backing off, so
    // the holder gives up nothing it still has to send. An entry committed after this statement's snapshot is
    // claimed anew: its NOTIFY (or the releasing replica's own wake-up after the drain) triggers a claim pass.
    // The answer tells whether the lease was still live by the database clock, as LeaseStore's release does.
    private const string ReleaseWhenIdleSql = """
        delete from resource_leases
        where resource_id = @lease_id and token = @lease_token
          and not exists (select 1 from outbox_entries where resource_id = @lease_id and state = 'pending')
        returning expires_at > clock_timestamp()
        """;

    private const string WakeDependentsSql = $"""
        update outbox_entries set next_attempt_at = clock_timestamp()
        where state = 'pending' and blocked_by = @lease_id::text and next_attempt_at > clock_timestamp() and {OurToken}
        """;

    // The common one-entry step is written "seq = @seq", not "seq = any(@seqs)": for an array PostgreSQL's generic
    // plan guesses ten rows, looks dearer than a custom plan, and so every execution was planned anew (planning took
    // more time than the update; pg_stat_statements in a drain of 50,000 network creates, BENCHMARKS.md).

    /// <summary>Records that these entries' state is about to be sent (see migrations/004).</summary>
    public Task<CompletionResult> MarkDispatchedAsync(ResourceLease lease, IReadOnlyList<long> seqs, CancellationToken ct = default) =>
        GuardedAsync(lease, batch =>
            // Invariant: once set, dispatched_at is never cleared, so "never sent" is a safe fact to rely on.
            batch.Add(seqs.Count == 1
                ? Command($"""
                    update outbox_entries set dispatched_at = coalesce(dispatched_at, clock_timestamp()), blocked_by = null
                    where seq = @seq and {OurToken}
                    """, new NpgsqlParameter("seq", seqs[0]))
                : Command($"""
                    update outbox_entries set dispatched_at = coalesce(dispatched_at, clock_timestamp()), blocked_by = null
                    where seq = any(@seqs) and {OurToken}
                    """, OutboxClaim.SeqArray("seqs", seqs))), ct);

    /// <summary>The back end confirmed the step: finish its entries and move the resource forward.</summary>
    public async Task<CompletionResult> ConfirmAsync(ResourceLease lease, Confirmation c, CancellationToken ct = default)
    {
        try
        {
            return await GuardedAsync(lease, batch => BuildConfirm(batch, c, removeRow: c.RemoveRow), ct, c.ReleaseWhenIdle);
        }
        catch (PostgresException e) when (c.RemoveRow && e.SqlState == PostgresErrorCodes.ForeignKeyViolation)
        {
            // The back end deleted it, but rows still reference it here: keep the row as ERROR so an operator sees
            // it, rather than failing the drain over and over. The whole first batch rolled back, so redo it all.
            var reason = $"deleted at the back end but still referenced: {e.ConstraintName}";
            return await GuardedAsync(lease, batch =>
            {
                BuildConfirm(batch, c, removeRow: false);
                batch.Add(Command($"update {TableOf(c.ResourceType)} set status = 'ERROR', status_reason = @reason where id = @lease_id and {OurToken}",
                    new NpgsqlParameter("reason", Truncate(reason))));
            }, ct, c.ReleaseWhenIdle);
        }
    }

    /// <summary>
    /// Permanent failure: the entries fail and the resource goes to ERROR with the reason. <paramref name="superseded"/>
    /// are entries folded into the failed call whose change it carried in full (earlier updates coalesced into a
    /// later one): they are superseded, naming the entry that failed, so an operator retries that one alone.
    /// </summary>
    public Task<CompletionResult> FailAsync(ResourceLease lease, string resourceType, IReadOnlyList<long> seqs, string reason,
        IReadOnlyList<long> superseded, CancellationToken ct = default) =>
        GuardedAsync(lease, batch =>
        {
            batch.Add(Command($"""
                update outbox_entries set state = 'failed', last_error = @reason, blocked_by = null, completed_at = clock_timestamp()
                where state = 'pending' and seq = any(@seqs) and {OurToken}
                """, new NpgsqlParameter("reason", Truncate(reason)), OutboxClaim.SeqArray("seqs", seqs)));
            if (superseded.Count > 0)
            {
                batch.Add(Command($"""
                    update outbox_entries set state = 'superseded', last_error = @reason, blocked_by = null, completed_at = clock_timestamp()
                    where state = 'pending' and seq = any(@superseded) and {OurToken}
                    """, new NpgsqlParameter("reason", Truncate($"carried by entry {string.Join(", ", seqs)}, which failed: {reason}")),
                    OutboxClaim.SeqArray("superseded", superseded)));
            }
            if (ResourceType.FromName(resourceType) is not null)
            {
                batch.Add(Command($"update {TableOf(resourceType)} set status = 'ERROR', status_reason = @reason where id = @lease_id and {OurToken}",
                    new NpgsqlParameter("reason", Truncate(reason))));
            }
            // Children waiting on this resource must learn of the failure now, not at their next poll.
            batch.Add(Command(WakeDependentsSql));
        }, ct);

    /// <summary>
    /// Tries again later: next_attempt_at = database now + <paramref name="delay"/>. Attempts grow only when
    /// <paramref name="countAttempt"/> (an outage or open circuit is not the entry's fault).
    /// </summary>
    public Task<CompletionResult> RescheduleAsync(ResourceLease lease, IReadOnlyList<long> seqs, TimeSpan delay, string error, bool countAttempt, CancellationToken ct = default) =>
        GuardedAsync(lease, batch => batch.Add(Command($"""
            update outbox_entries
            set attempts = attempts + case when @count then 1 else 0 end,
                next_attempt_at = clock_timestamp() + @delay, last_error = @error, blocked_by = null
            where state = 'pending' and seq = any(@seqs) and {OurToken}
            """,
            new NpgsqlParameter("count", countAttempt), new NpgsqlParameter("delay", delay),
            new NpgsqlParameter("error", Truncate(error)), OutboxClaim.SeqArray("seqs", seqs))), ct);

    /// <summary>
    /// The back end refused our token as stale while the lease row still carries it: it has seen a larger token for
    /// the resource than this database remembers handing out, so the database was rewound (a promoted asynchronous
    /// standby, a point-in-time restore). The back end cached that refusal under the entries' Idempotency-Key and
    /// would replay it to every later attempt, each under a newer token, forever. Nothing was applied under that key:
    /// fencing refuses before applying, and a key with an applied result replays that result instead. So the
    /// entries get new keys, and the next attempt is judged afresh once the token sequence passes the back end's.
    /// A holder whose lease was taken over changes nothing.
    /// </summary>
    public Task<CompletionResult> RenewKeysAsync(ResourceLease lease, IReadOnlyList<long> seqs, CancellationToken ct = default) =>
        GuardedAsync(lease, batch => batch.Add(Command($"""
            update outbox_entries set idempotency_key = gen_random_uuid(),
                last_error = 'stale_token while holding the lease: the back end saw a newer token (database rewound?); new key'
            where state = 'pending' and seq = any(@seqs) and {OurToken}
            """, OutboxClaim.SeqArray("seqs", seqs))), ct);

    /// <summary>The entry waits for another resource: record who, spend no attempt, re-check after <paramref name="recheck"/>
    /// (or earlier, when the blocker makes progress).</summary>
    public Task<CompletionResult> BlockAsync(ResourceLease lease, long seq, Guid blockedBy, TimeSpan recheck, CancellationToken ct = default) =>
        GuardedAsync(lease, batch => batch.Add(Command($"""
            update outbox_entries set blocked_by = @by, next_attempt_at = clock_timestamp() + @recheck
            where state = 'pending' and seq = @seq and {OurToken}
            """, new NpgsqlParameter("by", blockedBy.ToString()), new NpgsqlParameter("recheck", recheck), new NpgsqlParameter("seq", seq))), ct);

    private static void BuildConfirm(List<NpgsqlBatchCommand> batch, Confirmation c, bool removeRow)
    {
        // Covered entries are superseded, never lost: the sent entry carried their state.
        batch.Add(c.CoveredSeqs.Count == 0
            ? Command($"""
                update outbox_entries set state = @sentState, completed_at = clock_timestamp(), blocked_by = null, last_error = null
                where state = 'pending' and seq = @sent and {OurToken}
                """, new NpgsqlParameter("sent", c.SentSeq), new NpgsqlParameter("sentState", c.SentEntryState))
            : Command($"""
                update outbox_entries
                set state = case when seq = @sent then @sentState else 'superseded' end,
                    completed_at = clock_timestamp(), blocked_by = null, last_error = null
                where state = 'pending' and (seq = @sent or seq = any(@covered)) and {OurToken}
                """, new NpgsqlParameter("sent", c.SentSeq), new NpgsqlParameter("sentState", c.SentEntryState), OutboxClaim.SeqArray("covered", c.CoveredSeqs)));
        var table = TableOf(c.ResourceType);
        if (removeRow)
        {
            // The back end confirmed the delete, so the row goes (a port's allocations and interface cascade).
            batch.Add(Command($"delete from {table} where id = @lease_id and {OurToken}"));
        }
        else
        {
            // Invariant: ACTIVE only when the back end holds the latest desired revision and no delete is pending;
            // applied_revision never moves backwards.
            batch.Add(Command($"""
                update {table} set
                    applied_revision = greatest(applied_revision, @rev),
                    status = case when status <> 'PENDING_DELETE' and revision_number = greatest(applied_revision, @rev)
                                  then 'ACTIVE' else status end,
                    status_reason = case when status <> 'PENDING_DELETE' and revision_number = greatest(applied_revision, @rev)
                                  then null else status_reason end
                where id = @lease_id and {OurToken}
                """, new NpgsqlParameter("rev", c.Revision)));
        }
        batch.Add(Command(WakeDependentsSql));
    }

    private async Task<CompletionResult> GuardedAsync(ResourceLease lease, Action<List<NpgsqlBatchCommand>> build, CancellationToken ct,
        bool releaseWhenIdle = false)
    {
        var writes = new List<NpgsqlBatchCommand>();
        build(writes);
        if (releaseWhenIdle)
        {
            writes.Add(Command(ReleaseWhenIdleSql));
        }
        await using var batch = dataSource.CreateBatch();
        var guard = new NpgsqlBatchCommand(GuardSql);
        guard.Parameters.AddWithValue("lease_id", lease.ResourceId);
        batch.BatchCommands.Add(guard);
        foreach (var write in writes)
        {
            write.Parameters.AddWithValue("lease_id", lease.ResourceId);
            write.Parameters.AddWithValue("lease_token", lease.Token.Value);
            batch.BatchCommands.Add(write);
        }
        // No explicit transaction: the batch is one implicit transaction, committed by the server on its own.
        long? current;
        bool? releasedLive = null;
        await using (var reader = await batch.ExecuteReaderAsync(ct))
        {
            current = await reader.ReadAsync(ct) ? reader.GetInt64(0) : null;
            while (await reader.NextResultAsync(ct))
            {
                // Only the release returns rows after the guard (one row when it deleted the lease).
                if (releaseWhenIdle && await reader.ReadAsync(ct))
                {
                    releasedLive = reader.GetBoolean(0);
                }
            }
        }
        if (current != lease.Token.Value)
        {
            lease.MarkLost();
            return CompletionResult.Lost;
        }
        if (releasedLive is { } live)
        {
            lease.MarkLost();
            return live ? CompletionResult.Released : CompletionResult.ReleasedAfterExpiry;
        }
        return CompletionResult.Written;
    }

    private static NpgsqlBatchCommand Command(string sql, params NpgsqlParameter[] parameters)
    {
        var command = new NpgsqlBatchCommand(sql);
        command.Parameters.AddRange(parameters);
        return command;
    }

    private static string TableOf(string resourceType) =>
        (ResourceType.FromName(resourceType) ?? throw new ArgumentException($"Unknown resource type '{resourceType}'.", nameof(resourceType))).Table;

    private static string Truncate(string s) => s.Length <= 1000 ? s : s[..1000];
}
