using Npgsql;

namespace OutboxSync.Api.Accept;

/// <summary>
/// The row writes of one raw accept transaction (<see cref="AcceptTransaction.RunBatchedAsync{T}"/>): its open
/// connection, for the reads the request makes first, and the INSERTs collected for one round trip at the end,
/// where the outbox entries join them.
/// </summary>
public sealed class AcceptBatch(NpgsqlConnection connection)
{
    public NpgsqlConnection Connection => connection;

    internal NpgsqlBatch Pending { get; private set; } = new(connection);

    public void Add(IEnumerable<NpgsqlBatchCommand> commands)
    {
        foreach (var command in commands)
        {
            Pending.BatchCommands.Add(command);
        }
    }

    /// <summary>Sends the writes collected so far, before the request reads again: in a bulk create, the next
    /// port's IPAM must see this port's addresses.</summary>
    public async Task SendAsync(CancellationToken ct)
    {
        if (Pending.BatchCommands.Count == 0)
        {
            return;
        }
        await Pending.ExecuteNonQueryAsync(ct);
        await Pending.DisposeAsync();
        Pending = new NpgsqlBatch(connection);
    }

    /// <summary>
    /// Sends the last writes with the COMMIT in the same round trip (pgbench of a port create: 3 round trips instead
    /// of 4, +10-25 % transactions/s). A failing write makes PostgreSQL skip the COMMIT, so nothing is half-written;
    /// the caller's transaction then rolls back on dispose. Npgsql sees the COMMIT and marks that transaction
    /// completed.
    /// </summary>
    internal async Task SendAndCommitAsync(CancellationToken ct)
    {
        Pending.BatchCommands.Add(new NpgsqlBatchCommand("commit"));
        await SendAsync(ct);
    }
}
