using System.Diagnostics.Metrics;
using OutboxSync.Hosting;
using OutboxSync.Outbox;
using OutboxSync.Persistence;

namespace OutboxSync.Api.Accept;

/// <summary>
/// The one short transaction of every mutating request: resource rows, then their outbox entries, then commit,
/// then a wake-up for the workers outside the transaction. Nothing slow runs inside.
/// </summary>
public sealed class AcceptTransaction(OutboxSyncDbContext db, OutboxWriter outbox, OutboxWakeup wakeup)
{
    private static readonly Counter<long> Accepted = Telemetry.Meter.CreateCounter<long>(
        "outboxsync.api.accepted_entries", description: "Outbox entries committed by the API");

    public OutboxWriter Outbox => outbox;

    public async Task<T> RunAsync<T>(Func<Task<T>> work, CancellationToken ct)
    {
        await using var tx = await db.Database.BeginTransactionAsync(ct);
        var result = await work();
        await db.SaveChangesAsync(ct);
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
