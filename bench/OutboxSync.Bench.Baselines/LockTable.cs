using Npgsql;

namespace OutboxSync.Bench.Baselines;

/// <summary>
/// The 2014 thread's cross-server lock (seeds/000): 1. <c>SELECT lock_name FROM cross_server_locks</c>; 2. if absent,
/// <c>INSERT</c> it, otherwise wait and try again until a timeout; 3. do the work; 4. <c>DELETE</c> the row. Per port,
/// with the device call made while the lock is held and no transaction open across it. Nothing expires a lock: a
/// holder that dies leaves its row until someone deletes it.
/// <list type="bullet">
/// <item><c>lock-table-unique</c>: <c>lock_name</c> is the primary key, so of two requests that both saw no row one
/// INSERT fails and that request waits again.</item>
/// <item><c>lock-table</c>: no constraint, so two requests that both saw no row both insert, and both hold it.</item>
/// </list>
/// </summary>
public static class LockTable
{
    public const string Design = "lock-table";
    public const string UniqueDesign = "lock-table-unique";

    private static readonly TimeSpan Retry = TimeSpan.FromMilliseconds(20);
    private static readonly string Holder = $"{Environment.MachineName}:{Environment.ProcessId}";

    internal static async Task<IResult> WriteAsync(string design, NpgsqlDataSource db, DeviceClient device, BaselineEndpoints.Write write, bool create,
        Guid? id, TimeSpan wait, CancellationToken ct)
    {
        var table = design == UniqueDesign ? "baseline.cross_server_locks_unique" : "baseline.cross_server_locks";
        PortRow? row = null;
        string? name = null;
        if (id is { } existing)
        {
            name = $"port:{existing}";
            if (!await AcquireAsync(db, table, name, wait, ct))
            {
                return BaselineEndpoints.Error(409, $"lock {name} still held after {wait.TotalSeconds:0} s");
            }
        }
        try
        {
            await using (var c = await db.OpenConnectionAsync(ct))
            {
                row = await write(c, null, "ACTIVE");
            }
            if (row is null)
            {
                return BaselineEndpoints.Error(404, "port not found");
            }
            if (name is null)
            {
                // A create: the new port's id exists only now, and nobody else knows it yet.
                name = $"port:{row.Id}";
                if (!await AcquireAsync(db, table, name, wait, ct))
                {
                    return BaselineEndpoints.Error(409, $"lock {name} still held after {wait.TotalSeconds:0} s");
                }
            }
            var (ok, error) = await device.PutPortAsync(row, create, ct);
            return ok ? BaselineEndpoints.Ok(row, "ACTIVE", create) : BaselineEndpoints.Error(502, error);
        }
        finally
        {
            if (name is not null)
            {
                // Step 4 as proposed: the entry goes by its name (in the table without a constraint, every holder's).
                await using var release = db.CreateCommand($"delete from {table} where lock_name = $1");
                release.Parameters.AddWithValue(name);
                await release.ExecuteNonQueryAsync(CancellationToken.None);
            }
        }
    }

    /// <summary>Steps 1 and 2, each its own autocommitted statement; false when <paramref name="wait"/> ran out.</summary>
    private static async Task<bool> AcquireAsync(NpgsqlDataSource db, string table, string name, TimeSpan wait, CancellationToken ct)
    {
        var deadline = DateTime.UtcNow + wait;
        while (true)
        {
            await using (var check = db.CreateCommand($"select lock_name from {table} where lock_name = $1"))
            {
                check.Parameters.AddWithValue(name);
                if (await check.ExecuteScalarAsync(ct) is null)
                {
                    await using var take = db.CreateCommand($"insert into {table} (lock_name, holder) values ($1, $2)");
                    take.Parameters.AddWithValue(name);
                    take.Parameters.AddWithValue(Holder);
                    try
                    {
                        await take.ExecuteNonQueryAsync(ct);
                        return true;
                    }
                    catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.UniqueViolation)
                    {
                        // Someone inserted between our SELECT and INSERT: wait like any other holder.
                    }
                }
            }
            if (DateTime.UtcNow >= deadline)
            {
                return false;
            }
            await Task.Delay(Retry, ct);
        }
    }
}
