using Npgsql;
using OutboxSync.Testing;
using Xunit;

namespace OutboxSync.Shared.Tests.Migrations;

/// <summary>
/// The group roles of migrations/009, exercised through LOGIN users granted them: what each must not be able to
/// do fails with insufficient_privilege. (That the grants are enough to run the system is proven by the
/// System.Tests stack running as such users.)
/// </summary>
public sealed class DatabaseRolesTests : IAsyncLifetime
{
    private TestDatabase _db = null!;
    private DatabaseLogin _api = null!;
    private DatabaseLogin _worker = null!;

    public async Task InitializeAsync()
    {
        _db = await TestDatabase.CreateAsync();
        _api = await DatabaseLogin.CreateAsync(_db, DatabaseLogin.ApiRole);
        _worker = await DatabaseLogin.CreateAsync(_db, DatabaseLogin.WorkerRole);
        await ExecuteAsync(_db.ConnectionString,
            "insert into resource_leases values (gen_random_uuid(), 'replica-a', nextval('fencing_tokens'), now(), now() + interval '1 minute')");
    }

    public async Task DisposeAsync()
    {
        await _db.DisposeAsync();
        await _api.DisposeAsync();
        await _worker.DisposeAsync();
    }

    [Theory]
    [InlineData("select * from resource_leases")]
    [InlineData("update resource_leases set expires_at = now() + interval '1 hour'")]
    [InlineData("delete from resource_leases")]
    [InlineData("insert into resource_leases values (gen_random_uuid(), 'api', 1, now(), now())")]
    [InlineData("update operator_leases set expires_at = now() + interval '1 hour'")]
    [InlineData("select nextval('fencing_tokens')")]
    [InlineData("select * from qrtz_triggers")]
    [InlineData("delete from qrtz_locks")]
    public async Task Api_role_cannot_touch_leases_or_quartz_tables(string sql) =>
        await AssertDeniedAsync(_api.ConnectionString, sql);

    [Theory]
    [InlineData("create table intruder (id int)")]
    [InlineData("alter table outbox_entries add column intruder int")]
    [InlineData("drop table outbox_entries")]
    [InlineData("create index intruder on outbox_entries (project_id)")]
    [InlineData("truncate outbox_entries")]
    [InlineData("create or replace view operator_leases as select * from resource_leases")]
    public async Task Worker_role_cannot_change_the_schema(string sql) =>
        await AssertDeniedAsync(_worker.ConnectionString, sql);

    [Theory]
    [InlineData("create table intruder (id int)")]
    [InlineData("alter table networks add column intruder int")]
    [InlineData("truncate networks cascade")]
    public async Task Api_role_cannot_change_the_schema(string sql) =>
        await AssertDeniedAsync(_api.ConnectionString, sql);

    [Fact]
    public async Task Api_role_reads_the_lease_listing_through_the_operator_view()
    {
        await using var connection = new NpgsqlConnection(_api.ConnectionString);
        await connection.OpenAsync();
        await using var cmd = new NpgsqlCommand("select holder from operator_leases", connection);
        Assert.Equal("replica-a", await cmd.ExecuteScalarAsync());
    }

    [Fact]
    public async Task Every_table_and_view_is_granted_to_one_of_the_roles()
    {
        // A migration that adds a table and forgets its grant leaves it unusable by the API and the workers.
        await using var connection = new NpgsqlConnection(_db.ConnectionString);
        await connection.OpenAsync();
        await using var cmd = new NpgsqlCommand("""
            select c.relname from pg_class c join pg_namespace n on n.oid = c.relnamespace
            where n.nspname = 'public' and c.relkind in ('r', 'v', 'p')
              and not has_table_privilege('outboxsync_api', c.oid, 'select')
              and not has_table_privilege('outboxsync_worker', c.oid, 'select')
            order by 1
            """, connection);
        var ungranted = new List<string>();
        await using var reader = await cmd.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            ungranted.Add(reader.GetString(0));
        }
        Assert.Empty(ungranted);
    }

    [Fact]
    public async Task Worker_role_has_the_outbox_analysed_though_only_the_owner_may_analyse_it()
    {
        await ExecuteAsync(_db.ConnectionString, "alter table outbox_entries set (autovacuum_enabled = false)");
        await ExecuteAsync(_db.ConnectionString, "vacuum analyze outbox_entries");
        await ExecuteAsync(_db.ConnectionString, """
            insert into outbox_entries (resource_type, resource_id, operation, revision, payload, project_id)
            select 'network', gen_random_uuid(), 'create', 1, '{}', 'p' from generate_series(1, 2000)
            """);

        await using var connection = new NpgsqlConnection(_worker.ConnectionString);
        await connection.OpenAsync();
        await using var cmd = new NpgsqlCommand("select analysed from outbox_refresh_statistics()", connection);
        // The worker's own "analyze outbox_entries" would only warn that it skipped the table.
        Assert.Equal(true, await cmd.ExecuteScalarAsync());
    }

    [Fact]
    public async Task Api_role_cannot_have_the_outbox_analysed() =>
        await AssertDeniedAsync(_api.ConnectionString, "select * from outbox_refresh_statistics()");

    private static async Task AssertDeniedAsync(string connectionString, string sql)
    {
        var e = await Assert.ThrowsAsync<PostgresException>(() => ExecuteAsync(connectionString, sql));
        Assert.True(e.SqlState == PostgresErrorCodes.InsufficientPrivilege, $"{sql}: {e.SqlState} {e.MessageText}");
    }

    private static async Task ExecuteAsync(string connectionString, string sql)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var cmd = new NpgsqlCommand(sql, connection);
        await cmd.ExecuteNonQueryAsync();
    }
}
