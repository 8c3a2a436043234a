using System.Diagnostics.Metrics;
using OutboxSync.Hosting;
using Microsoft.EntityFrameworkCore;
using Npgsql;
using OutboxSync.Outbox;
using OutboxSync.Persistence;
using OutboxSync.Resources;

namespace OutboxSync.Api.Accept;

/// <summary>
/// The one short transaction of every mutating request: resource rows, then their (already rendered) outbox
/// entries, then commit, then a wake-up for the workers outside the transaction. Nothing slow runs inside.
/// </summary>
public sealed class AcceptTransaction(OutboxSyncDbContext db, NpgsqlDataSource dataSource, OutboxWriter outbox, OutboxWakeup wakeup, AcceptGate gate)
{
    private static readonly Counter<long> Accepted = Telemetry.Meter.CreateCounter<long>(
        "outboxsync.api.accepted_entries", description: "Outbox entries committed by the API");

    private static readonly Counter<long> Retried = Telemetry.Meter.CreateCounter<long>(
        "outboxsync.api.accept_retries", description: "Accept transactions run again after an optimistic IPAM or MAC collision, by constraint");

    public OutboxWriter Outbox => outbox;

    /// <summary>How often a request is run again after an optimistic IPAM or MAC collision.</summary>
    private const int MaxAttempts = 8;

    public async Task<T> RunAsync<T>(Func<Task<T>> work, CancellationToken ct)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return await RunOnceAsync(work, ct);
            }
            catch (DbUpdateException e) when (attempt < MaxAttempts && IsCollision(e.InnerException))
            {
                // Another request took the address (or generated MAC) we picked: start over with a fresh view.
                CountRetry(e.InnerException!);
                db.ChangeTracker.Clear();
                outbox.Clear();
            }
        }
    }

    /// <summary>
    /// Runs a request's accept transaction in raw Npgsql, for the hot creates that read before they write (ports):
    /// <paramref name="work"/> reads on the batch's connection and adds its row INSERTs to the batch; the outbox
    /// entries join them, and rows, entries and the COMMIT go to PostgreSQL in one round trip. No EF Core
    /// change tracking or query compilation on this path (BENCHMARKS.md, T2). Collisions are retried as in
    /// <see cref="RunAsync{T}"/>: the whole request runs again, with fresh reads.
    /// </summary>
    public async Task<T> RunBatchedAsync<T>(Func<AcceptBatch, Task<T>> work, CancellationToken ct)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return await RunBatchedOnceAsync(work, ct);
            }
            catch (PostgresException e) when (attempt < MaxAttempts && IsCollision(e))
            {
                CountRetry(e);
                outbox.Clear();
            }
        }
    }

    private static bool IsCollision(Exception? e) =>
        e is PostgresException { SqlState: PostgresErrorCodes.UniqueViolation, ConstraintName: "ip_allocations_pkey" or "ports_mac_address_key" };

    private static void CountRetry(Exception e) =>
        Retried.Add(1, new KeyValuePair<string, object?>("constraint", ((PostgresException)e).ConstraintName));

    private Task<T> RunBatchedOnceAsync<T>(Func<AcceptBatch, Task<T>> work, CancellationToken ct) =>
        GatedAsync(async () =>
        {
            await using var connection = await dataSource.OpenConnectionAsync(ct);
            await using var tx = await connection.BeginTransactionAsync(ct);
            var batch = new AcceptBatch(connection);
            var result = await work(batch);
            var entries = outbox.PendingCount;
            outbox.AddTo(batch.Pending);
            await batch.SendAndCommitAsync(ct);
            return (result, entries);
        }, ct);

    /// <summary>
    /// Accepts new networks with the outbox entries already appended for them. A network create reads nothing, so
    /// rows and entries go to PostgreSQL as one batch, which it runs as one implicit transaction (a failing statement
    /// rolls back the whole batch): one round trip instead of EF Core's insert batch plus a COMMIT, and none of EF
    /// Core's change tracking, which was a third of the API's CPU per network create (BENCHMARKS.md, T1).
    /// </summary>
    public Task InsertNetworksAsync(IReadOnlyList<Network> networks, CancellationToken ct) =>
        GatedAsync(async () =>
        {
            var entries = outbox.PendingCount;
            await using var connection = await dataSource.OpenConnectionAsync(ct);
            await using var batch = new NpgsqlBatch(connection);
            foreach (var network in networks)
            {
                batch.BatchCommands.Add(ResourceInserts.Network(network));
            }
            outbox.AddTo(batch);
            await batch.ExecuteNonQueryAsync(ct);
            return (0, entries);
        }, ct);

    private Task<T> RunOnceAsync<T>(Func<Task<T>> work, CancellationToken ct) =>
        GatedAsync(async () =>
        {
            // Savepoints would add a round trip per SaveChanges; the whole transaction is the unit of failure anyway.
            db.Database.AutoSavepointsEnabled = false;
            await using var tx = await db.Database.BeginTransactionAsync(ct);
            var result = await work();
            var entries = outbox.PendingCount;
            await outbox.FlushAsync(ct);
            await tx.CommitAsync(ct);
            return (result, entries);
        }, ct);

    /// <summary>
    /// Runs one accept transaction inside the gate, then wakes the workers once it has committed. Waiting happens
    /// here, outside any transaction: a bounded number of accept transactions run at once, so each one finishes in
    /// a few round trips instead of queueing for CPU while holding row locks.
    /// </summary>
    private async Task<T> GatedAsync<T>(Func<Task<(T Result, int Entries)>> transaction, CancellationToken ct)
    {
        (T Result, int Entries) committed;
        await gate.WaitAsync(ct);
        try
        {
            committed = await transaction();
        }
        finally
        {
            gate.Release();
        }
        wakeup.Poke();
        if (committed.Entries > 0)
        {
            Accepted.Add(committed.Entries);
        }
        return committed.Result;
    }
}
