using Npgsql;

namespace OutboxSync.Worker.Maintenance;

/// <summary>
/// Requests a reconciliation run on the schedule, through the same reconciliation_runs table operators use, so
/// exactly one replica executes it. Skips the request when one is already waiting or running.
/// </summary>
public sealed class ScheduledReconciliation(NpgsqlDataSource dataSource)
{
    private const string RequestSql = """
        insert into reconciliation_runs (requested_by)
        select 'schedule'
        where not exists (select 1 from reconciliation_runs where state in ('requested', 'running'))
        returning id
        """;

    /// <returns>The requested run's id, or null when one was already pending.</returns>
    public async Task<long?> RunOnceAsync(CancellationToken ct)
    {
        await using var cmd = dataSource.CreateCommand(RequestSql);
        return await cmd.ExecuteScalarAsync(ct) as long?;
    }
}
