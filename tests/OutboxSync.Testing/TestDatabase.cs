using Npgsql;
using OutboxSync.Migrations;

namespace OutboxSync.Testing;

/// <summary>
/// A fresh, migrated database per test class, cloned from a template migrated once per process, so classes
/// never see each other's rows and each class can commit freely. Dropped on dispose.
/// </summary>
public sealed class TestDatabase : IAsyncDisposable
{
    private static readonly SemaphoreSlim TemplateLock = new(1, 1);
    private static string? _template;

    private TestDatabase(PostgresServer server, string name)
    {
        Server = server;
        Name = name;
        ConnectionString = server.ConnectionStringFor(name);
    }

    public PostgresServer Server { get; }
    public string Name { get; }
    public string ConnectionString { get; }

    public NpgsqlDataSource CreateDataSource() => NpgsqlDataSource.Create(ConnectionString);

    public static async Task<TestDatabase> CreateAsync()
    {
        var server = await PostgresServer.InstanceAsync();
        var template = await EnsureTemplateAsync(server);
        var name = "t_" + Guid.NewGuid().ToString("N")[..16];
        await using var admin = new NpgsqlConnection(server.AdminConnectionString);
        await admin.OpenAsync();
        await using var cmd = new NpgsqlCommand($"create database {name} template {template}", admin);
        await cmd.ExecuteNonQueryAsync();
        return new TestDatabase(server, name);
    }

    private static async Task<string> EnsureTemplateAsync(PostgresServer server)
    {
        await TemplateLock.WaitAsync();
        try
        {
            if (_template is not null)
            {
                return _template;
            }
            var name = "tpl_" + Guid.NewGuid().ToString("N")[..16];
            await using (var admin = new NpgsqlConnection(server.AdminConnectionString))
            {
                await admin.OpenAsync();
                await using var cmd = new NpgsqlCommand($"create database {name}", admin);
                await cmd.ExecuteNonQueryAsync();
            }
            var cs = new NpgsqlConnectionStringBuilder(server.ConnectionStringFor(name)) { Pooling = false }.ConnectionString;
            await SchemaMigrator.ApplyAsync(cs);
            _template = name;
            return name;
        }
        finally
        {
            TemplateLock.Release();
        }
    }

    public async ValueTask DisposeAsync()
    {
        NpgsqlConnection.ClearAllPools();
        try
        {
            await using var admin = new NpgsqlConnection(Server.AdminConnectionString);
            await admin.OpenAsync();
            await using var cmd = new NpgsqlCommand($"drop database if exists {Name} with (force)", admin);
            await cmd.ExecuteNonQueryAsync();
        }
        catch (NpgsqlException)
        {
            // The server may be down in a fault test; the cluster is thrown away at process exit anyway.
        }
    }
}
