using System.Security.Cryptography;
using Npgsql;

namespace OutboxSync.Testing;

/// <summary>
/// A LOGIN user with a generated password, member of one of the group roles migrations/009 creates
/// (outboxsync_api, outboxsync_worker), as an operator would create one. Logins are cluster-wide, so the name is
/// unique per instance; dropped on dispose.
/// </summary>
public sealed class DatabaseLogin : IAsyncDisposable
{
    public const string ApiRole = "outboxsync_api";
    public const string WorkerRole = "outboxsync_worker";

    private readonly PostgresServer _server;

    private DatabaseLogin(PostgresServer server, string name, string password, string database)
    {
        _server = server;
        Name = name;
        Password = password;
        ConnectionString = new NpgsqlConnectionStringBuilder(server.ConnectionStringFor(database))
        {
            Username = name,
            Password = password,
        }.ConnectionString;
    }

    public string Name { get; }

    /// <summary>The generated password (tests check it never reaches a log).</summary>
    public string Password { get; }

    /// <summary>The test database, as this user.</summary>
    public string ConnectionString { get; }

    public static async Task<DatabaseLogin> CreateAsync(TestDatabase database, string groupRole)
    {
        var name = "login_" + Guid.NewGuid().ToString("N")[..12];
        var password = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));
        await using var admin = new NpgsqlConnection(database.Server.AdminConnectionString);
        await admin.OpenAsync();
        // Identifiers and the password are generated here (hex only), never taken from input.
        await using var cmd = new NpgsqlCommand($"create role {name} login password '{password}' in role {groupRole}", admin);
        await cmd.ExecuteNonQueryAsync();
        return new DatabaseLogin(database.Server, name, password, database.Name);
    }

    public async ValueTask DisposeAsync()
    {
        NpgsqlConnection.ClearAllPools();
        try
        {
            await using var admin = new NpgsqlConnection(_server.AdminConnectionString);
            await admin.OpenAsync();
            await using var cmd = new NpgsqlCommand($"drop role if exists {Name}", admin);
            await cmd.ExecuteNonQueryAsync();
        }
        catch (NpgsqlException)
        {
            // The server may be down in a fault test; the cluster is thrown away at process exit anyway.
        }
    }
}
