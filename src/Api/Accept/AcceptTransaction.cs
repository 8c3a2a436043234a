using System.Diagnostics.Metrics;
using OutboxSync.Hosting;
using Microsoft.EntityFrameworkCore;
using Npgsql;
using OutboxSync.Outbox;
using OutboxSync.Persistence;

namespace OutboxSync.Api.Accept;

/// <summary>
/// The one short transaction of every mutating request: resource rows, then their (already rendered) outbox
/// entries, then commit, then a wake-up for the workers outside the transaction. Nothing slow runs inside.
/// </summary>
public sealed class AcceptTransaction(OutboxSyncDbContext db, OutboxWriter outbox, OutboxWakeup wakeup, AcceptGate gate)
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
            catch (DbUpdateException e) when (attempt < MaxAttempts
                && e.InnerException is PostgresException { SqlState: PostgresErrorCodes.UniqueViolation, ConstraintName: "ip_allocations_pkey" or "ports_mac_address_key" })
            {
                // Another request took the address (or generated MAC) we picked: start over with a fresh view.
                Retried.Add(1, new KeyValuePair<string, object?>("constraint", ((PostgresException)e.InnerException).ConstraintName));
                db.ChangeTracker.Clear();
                outbox.Clear();
            }
        }
    }

    private async Task<T> RunOnceAsync<T>(Func<Task<T>> work, CancellationToken ct)
    {
        // Waiting happens here, outside any transaction: a bounded number of accept transactions run at once,
        // so each one finishes in a few round trips instead of queueing for CPU while holding row locks.
        await gate.WaitAsync(ct);
        try
        {
            return await InTransactionAsync(work, ct);
        }
        finally
        {
            gate.Release();
        }
    }

    private async Task<T> InTransactionAsync<T>(Func<Task<T>> work, CancellationToken ct)
    {
        // Savepoints would add a round trip per SaveChanges; the whole transaction is the unit of failure anyway.
        db.Database.AutoSavepointsEnabled = false;
        await using var tx = await db.Database.BeginTransactionAsync(ct);
        var result = await work();
        var entries = outbox.PendingCount;
        await outbox.FlushAsync(ct);
        await tx.CommitAsync(ct);
        wakeup.Poke();
        if (entries > 0)
        {
            Accepted.Add(entries);
        }
        return result;
    }
}
