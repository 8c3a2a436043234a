using System.Text.Json;
using Npgsql;
using NpgsqlTypes;

namespace OutboxSync.Worker.Maintenance;

/// <summary>The reconciliation_runs table as the worker uses it: claim one requested run, record its outcome.</summary>
public sealed class ReconciliationRuns(NpgsqlDataSource dataSource)
{
    // Invariant: exactly one replica executes a run. SKIP LOCKED lives only inside this one statement (no lock
    // is held while the run executes); the state change to 'running' is what keeps others away afterwards.
    private const string ClaimSql = """
        update reconciliation_runs set state = 'running', started_at = clock_timestamp()
        where id = (select id from reconciliation_runs where state = 'requested'
                    order by requested_at, id limit 1 for update skip locked)
        returning id, started_at
        """;

    // A replica that died mid-run leaves it 'running' forever; age it out so the operator sees it failed.
    private const string AbandonSql = """
        update reconciliation_runs set state = 'failed', finished_at = clock_timestamp(),
            error = 'abandoned: still running after ' || @after::text
        where state = 'running' and started_at < clock_timestamp() - @after
        """;

    public async Task<(long Id, DateTimeOffset StartedAt)?> ClaimAsync(CancellationToken ct)
    {
        await using var cmd = dataSource.CreateCommand(ClaimSql);
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        return await reader.ReadAsync(ct) ? (reader.GetInt64(0), reader.GetFieldValue<DateTimeOffset>(1)) : null;
    }

    public async Task<int> AbandonStaleAsync(TimeSpan after, CancellationToken ct)
    {
        await using var cmd = dataSource.CreateCommand(AbandonSql);
        cmd.Parameters.AddWithValue("after", after);
        return await cmd.ExecuteNonQueryAsync(ct);
    }

    public async Task FinishAsync(long id, IReadOnlyList<ReconciliationFinding> findings, object summary, CancellationToken ct)
    {
        await using var cmd = dataSource.CreateCommand("""
            update reconciliation_runs set state = 'finished', finished_at = clock_timestamp(), findings = @findings, summary = @summary
            where id = @id and state = 'running'
            """);
        cmd.Parameters.AddWithValue("id", id);
        cmd.Parameters.Add(new NpgsqlParameter("findings", NpgsqlDbType.Jsonb) { Value = JsonSerializer.Serialize(findings, Json) });
        cmd.Parameters.Add(new NpgsqlParameter("summary", NpgsqlDbType.Jsonb) { Value = JsonSerializer.Serialize(summary, Json) });
        await cmd.ExecuteNonQueryAsync(ct);
    }

    public async Task FailAsync(long id, string error, CancellationToken ct)
    {
        await using var cmd = dataSource.CreateCommand("""
            update reconciliation_runs set state = 'failed', finished_at = clock_timestamp(), error = @error
            where id = @id and state = 'running'
            """);
        cmd.Parameters.AddWithValue("id", id);
        cmd.Parameters.AddWithValue("error", error.Length <= 1000 ? error : error[..1000]);
        await cmd.ExecuteNonQueryAsync(ct);
    }

    private static readonly JsonSerializerOptions Json = new() { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };
}
