using Npgsql;

namespace OutboxSync.Api.Tests.Infrastructure;

/// <summary>One row of outbox_entries, as the assertions need it.</summary>
public sealed record OutboxRow(long Seq, string ResourceType, Guid ResourceId, string Operation, long Revision, JsonObject Payload, string ProjectId, string State,
    Guid[] DependsOn);

/// <summary>Reads the test database directly (never through the API) to check what a request committed.</summary>
public sealed class DbProbe(NpgsqlDataSource dataSource) : IAsyncDisposable
{
    public static readonly string[] Tables =
        ["networks", "subnets", "ports", "routers", "ip_allocations", "released_addresses", "router_interfaces", "security_groups",
         "security_group_rules", "subnetpools", "outbox_entries"];

    public NpgsqlDataSource DataSource => dataSource;

    public async Task<List<OutboxRow>> OutboxForAsync(object resourceId)
    {
        await using var cmd = dataSource.CreateCommand(
            "select seq, resource_type, resource_id, operation, revision, payload::text, project_id, state, depends_on " +
            "from outbox_entries where resource_id = $1 order by seq");
        cmd.Parameters.AddWithValue(Guid.Parse(resourceId.ToString()!));
        return await ReadOutboxAsync(cmd);
    }

    public async Task<List<OutboxRow>> OutboxAfterAsync(long seq)
    {
        await using var cmd = dataSource.CreateCommand(
            "select seq, resource_type, resource_id, operation, revision, payload::text, project_id, state, depends_on " +
            "from outbox_entries where seq > $1 order by seq");
        cmd.Parameters.AddWithValue(seq);
        return await ReadOutboxAsync(cmd);
    }

    public Task<long> MaxSeqAsync() => ScalarAsync<long>("select coalesce(max(seq), 0) from outbox_entries");

    private static async Task<List<OutboxRow>> ReadOutboxAsync(NpgsqlCommand cmd)
    {
        var rows = new List<OutboxRow>();
        await using var reader = await cmd.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            rows.Add(new OutboxRow(reader.GetInt64(0), reader.GetString(1), reader.GetGuid(2), reader.GetString(3), reader.GetInt64(4),
                (JsonObject)JsonNode.Parse(reader.GetString(5))!, reader.GetString(6), reader.GetString(7), reader.GetFieldValue<Guid[]>(8)));
        }
        return rows;
    }

    public async Task<T> ScalarAsync<T>(string sql, params object[] args)
    {
        await using var cmd = dataSource.CreateCommand(sql);
        foreach (var a in args)
        {
            cmd.Parameters.AddWithValue(a);
        }
        var value = await cmd.ExecuteScalarAsync();
        return (T)Convert.ChangeType(value!, typeof(T), System.Globalization.CultureInfo.InvariantCulture);
    }

    public async Task<int> ExecuteAsync(string sql, params object[] args)
    {
        await using var cmd = dataSource.CreateCommand(sql);
        foreach (var a in args)
        {
            cmd.Parameters.AddWithValue(a);
        }
        return await cmd.ExecuteNonQueryAsync();
    }

    public Task<bool> ExistsAsync(string table, object id) =>
        ScalarAsync<bool>($"select exists (select 1 from {table} where id = $1)", Guid.Parse(id.ToString()!));

    public Task<long> CountAsync(string table) => ScalarAsync<long>($"select count(*) from {table}");

    /// <summary>Row counts and a digest of every row of every table: equal before and after means nothing changed.</summary>
    public async Task<string> FingerprintAsync()
    {
        var parts = new List<string>();
        foreach (var table in Tables)
        {
            var digest = await ScalarAsync<string>(
                $"select count(*)::text || ':' || coalesce(md5(string_agg(t::text, '|' order by t::text)), '-') from {table} t");
            parts.Add($"{table}={digest}");
        }
        return string.Join("; ", parts);
    }

    /// <summary>Marks a resource as applied by the back end (what the worker would do), for PENDING_UPDATE tests.</summary>
    public Task MarkActiveAsync(string table, object id) =>
        ExecuteAsync($"update {table} set status = 'ACTIVE', applied_revision = revision_number where id = $1", Guid.Parse(id.ToString()!));

    public ValueTask DisposeAsync() => dataSource.DisposeAsync();
}
