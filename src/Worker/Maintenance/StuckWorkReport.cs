using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Npgsql;

namespace OutboxSync.Worker.Maintenance;

/// <summary>
/// Finds entries that have been due for longer than the threshold — nothing has touched them — and reports
/// each with its resource, what blocks it and its last error (log and the stuck-entries gauge).
/// </summary>
public sealed partial class StuckWorkReport(NpgsqlDataSource dataSource, IOptions<MaintenanceOptions> options, MaintenanceMetrics metrics,
    ILogger<StuckWorkReport> logger)
{
    private const string StuckSql = """
        select seq, resource_type, resource_id, operation, attempts, blocked_by, last_error,
               extract(epoch from now() - next_attempt_at)::float8 as overdue_seconds
        from outbox_entries
        where state = 'pending' and next_attempt_at < now() - @threshold
        order by seq
        limit 100
        """;

    public sealed record StuckEntry(long Seq, string ResourceType, Guid ResourceId, string Operation, int Attempts,
        string? BlockedBy, string? LastError, double OverdueSeconds);

    public async Task<IReadOnlyList<StuckEntry>> RunOnceAsync(CancellationToken ct)
    {
        await using var cmd = dataSource.CreateCommand(StuckSql);
        cmd.Parameters.AddWithValue("threshold", options.Value.StuckThreshold);
        var stuck = new List<StuckEntry>();
        await using (var reader = await cmd.ExecuteReaderAsync(ct))
        {
            while (await reader.ReadAsync(ct))
            {
                stuck.Add(new StuckEntry(reader.GetInt64(0), reader.GetString(1), reader.GetGuid(2), reader.GetString(3), reader.GetInt32(4),
                    reader.IsDBNull(5) ? null : reader.GetString(5), reader.IsDBNull(6) ? null : reader.GetString(6), reader.GetDouble(7)));
            }
        }
        metrics.StuckEntries = stuck.Count;
        foreach (var e in stuck)
        {
            LogStuck(logger, e.Seq, e.ResourceType, e.ResourceId, e.Operation, e.OverdueSeconds, e.Attempts, e.BlockedBy ?? "-", e.LastError ?? "-");
        }
        return stuck;
    }

    [LoggerMessage(Level = LogLevel.Warning,
        Message = "Stuck outbox entry {Seq}: {ResourceType} {ResourceId} {Operation} overdue {OverdueSeconds:F0}s, attempts {Attempts}, blocked by {BlockedBy}, last error {LastError}")]
    private static partial void LogStuck(ILogger logger, long seq, string resourceType, Guid resourceId, string operation, double overdueSeconds,
        int attempts, string blockedBy, string lastError);
}
