using Microsoft.Extensions.Options;
using Npgsql;

namespace OutboxSync.Worker.Maintenance;

/// <summary>
/// Deletes finished outbox entries older than the retention window in small batches, so no statement holds locks
/// for long and the table is never rewritten. Failed entries stay until an operator retries or discards them.
/// </summary>
public sealed class OutboxRetention(NpgsqlDataSource dataSource, IOptions<MaintenanceOptions> options)
{
    // Only terminal, non-failed states; pending and failed rows are never touched. Each batch is its own statement.
    private const string DeleteBatchSql = """
        delete from outbox_entries
        where seq in (
            select seq from outbox_entries
            where state in ('done', 'superseded', 'discarded') and completed_at < now() - @window
            order by completed_at
            limit @batch)
        """;

    public sealed record Result(int Deleted, int Batches);

    public async Task<Result> RunOnceAsync(CancellationToken ct)
    {
        var o = options.Value;
        var deleted = 0;
        var batches = 0;
        while (!ct.IsCancellationRequested)
        {
            await using var cmd = dataSource.CreateCommand(DeleteBatchSql);
            cmd.Parameters.AddWithValue("window", o.RetentionWindow);
            cmd.Parameters.AddWithValue("batch", o.RetentionBatchSize);
            var n = await cmd.ExecuteNonQueryAsync(ct);
            deleted += n;
            batches++;
            if (n < o.RetentionBatchSize)
            {
                break;
            }
        }
        return new Result(deleted, batches);
    }
}
