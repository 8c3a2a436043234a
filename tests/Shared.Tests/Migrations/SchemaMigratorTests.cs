using Npgsql;
using OutboxSync.Migrations;
using OutboxSync.Testing;
using Xunit;

namespace OutboxSync.Shared.Tests.Migrations;

public sealed class SchemaMigratorTests : IAsyncLifetime
{
    private TestDatabase _db = null!;

    public async Task InitializeAsync() => _db = await TestDatabase.CreateAsync();

    public async Task DisposeAsync() => await _db.DisposeAsync();

    [Fact]
    public async Task Applying_migrations_to_a_migrated_database_is_a_no_op()
    {
        var applied = await SchemaMigrator.ApplyAsync(_db.ConnectionString);
        Assert.Empty(applied);
    }

    [Fact]
    public async Task Migrated_database_is_at_the_latest_embedded_version()
    {
        await using var ds = _db.CreateDataSource();
        Assert.Equal(SchemaMigrator.LatestVersion, await SchemaMigrator.CurrentVersionAsync(ds));
    }

    [Fact]
    public async Task Concurrent_migrators_on_an_empty_database_apply_each_version_once()
    {
        var server = await PostgresServer.InstanceAsync();
        var name = "m_" + Guid.NewGuid().ToString("N")[..12];
        await using (var admin = new NpgsqlConnection(server.AdminConnectionString))
        {
            await admin.OpenAsync();
            await new NpgsqlCommand($"create database {name}", admin).ExecuteNonQueryAsync();
        }
        var cs = server.ConnectionStringFor(name);
        var results = await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => SchemaMigrator.ApplyAsync(cs)));
        Assert.Equal(SchemaMigrator.Embedded().Count, results.Sum(r => r.Count));
        NpgsqlConnection.ClearAllPools();
    }
}
