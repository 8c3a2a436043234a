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

    /// <summary>
    /// Accepts new networks with the outbox entries already appended for them. A network create reads nothing, so
    /// rows and entries go to PostgreSQL as one batch, which it runs as one implicit transaction (a failing statement
    /// rolls back the whole batch): one round trip instead of EF Core's insert batch plus a COMMIT, and none of EF
    /// Core's change tracking, which was a third of the API's CPU per network create (BENCHMARKS.md, T1).
    /// </summary>
    public async Task InsertNetworksAsync(IReadOnlyList<Network> networks, CancellationToken ct)
    {
        var entries = outbox.PendingCount;
        await gate.WaitAsync(ct);
        try
        {
            await using var connection = await dataSource.OpenConnectionAsync(ct);
            await using var batch = new NpgsqlBatch(connection);
            foreach (var network in networks)
            {
                batch.BatchCommands.Add(InsertNetwork(network));
            }
            outbox.AddTo(batch);
            await batch.ExecuteNonQueryAsync(ct);
        }
        finally
        {
            gate.Release();
        }
        wakeup.Poke();
        if (entries > 0)
        {
            Accepted.Add(entries);
        }
    }

    private const string InsertNetworkSql = """
        insert into networks (id, project_id, name, description, admin_state_up, status, status_reason, revision_number,
                              applied_revision, created_at, updated_at, tags, mtu, shared, router_external)
        values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)
        """;

    private static NpgsqlBatchCommand InsertNetwork(Network n) => new(InsertNetworkSql)
    {
        Parameters =
        {
            new NpgsqlParameter<Guid> { TypedValue = n.Id },
            new NpgsqlParameter<string> { TypedValue = n.ProjectId },
            new NpgsqlParameter<string> { TypedValue = n.Name },
            new NpgsqlParameter<string> { TypedValue = n.Description },
            new NpgsqlParameter<bool> { TypedValue = n.AdminStateUp },
            new NpgsqlParameter<string> { TypedValue = n.Status },
            new NpgsqlParameter { Value = (object?)n.StatusReason ?? DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Text },
            new NpgsqlParameter<long> { TypedValue = n.RevisionNumber },
            new NpgsqlParameter<long> { TypedValue = n.AppliedRevision },
            new NpgsqlParameter<DateTimeOffset> { TypedValue = n.CreatedAt },
            new NpgsqlParameter<DateTimeOffset> { TypedValue = n.UpdatedAt },
            new NpgsqlParameter<List<string>> { TypedValue = n.Tags, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Array | NpgsqlTypes.NpgsqlDbType.Text },
            new NpgsqlParameter<int> { TypedValue = n.Mtu },
            new NpgsqlParameter<bool> { TypedValue = n.Shared },
            new NpgsqlParameter<bool> { TypedValue = n.RouterExternal },
        },
    };

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
