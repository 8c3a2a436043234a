using Npgsql;

namespace OutboxSync.Outbox;

/// <summary>What <see cref="OutboxStatistics.RefreshAsync"/> found: the pending entries counted (at most 10,000), the
/// planner's estimate of them, and whether it analysed the table.</summary>
public sealed record OutboxStatisticsCheck(long Pending, long Estimated, bool Analysed);

/// <summary>
/// Keeps the planner's picture of the pending set truthful. The drain's statements find pending entries through
/// partial indexes; on statistics taken while nothing was pending, a burst is planned as if the set were empty and
/// every claim reads the whole backlog. The drain calls this when a claim finds more due than it takes; the
/// database function (migrations/014) analyses the table only when its estimate is far below what is pending.
/// </summary>
public sealed class OutboxStatistics(NpgsqlDataSource dataSource)
{
    public async Task<OutboxStatisticsCheck> RefreshAsync(CancellationToken ct = default)
    {
        await using var cmd = dataSource.CreateCommand("select pending, estimated, analysed from outbox_refresh_statistics()");
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        await reader.ReadAsync(ct);
        return new OutboxStatisticsCheck(reader.GetInt64(0), reader.GetInt64(1), reader.GetBoolean(2));
    }
}
