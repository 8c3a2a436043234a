using Npgsql;

namespace OutboxSync.Worker.Maintenance;

/// <summary>
/// Removes lease rows whose holders died without releasing them. Safe at any time: acquisition takes over an
/// expired row anyway, and a row is deleted only while expired by the database clock, so a live holder never
/// loses its lease to the sweeper (its guarded writes would be refused after a takeover, not after a sweep).
/// </summary>
public sealed class ExpiredLeaseSweep(NpgsqlDataSource dataSource)
{
    private const string SweepSql = "delete from resource_leases where expires_at < clock_timestamp()";

    public sealed record Result(int Removed);

    public async Task<Result> RunOnceAsync(CancellationToken ct)
    {
        await using var cmd = dataSource.CreateCommand(SweepSql);
        return new Result(await cmd.ExecuteNonQueryAsync(ct));
    }
}
