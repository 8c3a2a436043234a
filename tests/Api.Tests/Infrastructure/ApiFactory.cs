using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using OutboxSync.Api.Auth;
using OutboxSync.Testing;

namespace OutboxSync.Api.Tests.Infrastructure;

/// <summary>
/// The API in-process on a fresh migrated database (one per test class), with three tokens: admin
/// (project "admin-project", role admin), p1 (project "project1") and p2 (project "project2").
/// </summary>
public class ApiFactory : WebApplicationFactory<Program>, IAsyncLifetime
{
    public const string AdminToken = "admin-secret-token";
    public const string P1Token = "project1-secret-token";
    public const string P2Token = "project2-secret-token";
    public const string AdminProject = "admin-project";
    public const string Project1 = "project1";
    public const string Project2 = "project2";

    private TestDatabase? _database;
    private DbProbe? _db;

    public TestDatabase Database => _database ?? throw new InvalidOperationException("Fixture not initialised.");

    /// <summary>Direct SQL access for assertions, on its own connections.</summary>
    public DbProbe Db => _db ?? throw new InvalidOperationException("Fixture not initialised.");

    public ApiClient Admin => Client(AdminToken);
    public ApiClient P1 => Client(P1Token);
    public ApiClient P2 => Client(P2Token);
    public ApiClient Anonymous => Client(null);

    /// <summary>Members of projects no other test of the class uses ("extra-1" … "extra-6"), for behaviour that
    /// happens once per project (its default security group).</summary>
    public ApiClient Extra(int n) => n is >= 1 and <= ExtraProjects ? Client($"extra-{n}-secret-token") : throw new ArgumentOutOfRangeException(nameof(n));

    private const int ExtraProjects = 6;

    public ApiClient Client(string? token) => new(CreateClient(), token);

    public virtual async Task InitializeAsync()
    {
        _database = await TestDatabase.CreateAsync();
        _db = new DbProbe(_database.CreateDataSource());
    }

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseEnvironment("Testing");
        builder.UseSetting("Database:ConnectionString", Database.ConnectionString);
        (string Token, string Project, string Role)[] tokens =
        [
            (AdminToken, AdminProject, "admin"),
            (P1Token, Project1, "member"),
            (P2Token, Project2, "member"),
            .. Enumerable.Range(1, ExtraProjects).Select(n => ($"extra-{n}-secret-token", $"extra-{n}", "member")),
        ];
        for (var i = 0; i < tokens.Length; i++)
        {
            var (token, project, role) = tokens[i];
            builder.UseSetting($"Auth:Tokens:{i}:Sha256", TokenRegistry.Hash(token));
            builder.UseSetting($"Auth:Tokens:{i}:ProjectId", project);
            builder.UseSetting($"Auth:Tokens:{i}:Roles:0", role);
            builder.UseSetting($"Auth:Tokens:{i}:Name", project + "-user");
        }
        builder.UseSetting("Logging:LogLevel:Default", "Warning");
        // The per-token limiter has its own tests; here it would only turn load tests into 429s.
        builder.UseSetting("Api:RateLimit:Enabled", "false");
        builder.ConfigureTestServices(ConfigureTestServices);
    }

    /// <summary>Hook for derived fixtures (fault injection).</summary>
    protected virtual void ConfigureTestServices(IServiceCollection services)
    {
    }

    async Task IAsyncLifetime.DisposeAsync()
    {
        await base.DisposeAsync();
        if (_db is not null)
        {
            await _db.DisposeAsync();
        }
        if (_database is not null)
        {
            await _database.DisposeAsync();
        }
        await DisposeFixtureAsync();
    }

    /// <summary>Hook for derived fixtures that start more (their own Keystone); runs after the host has stopped.</summary>
    protected virtual Task DisposeFixtureAsync() => Task.CompletedTask;
}

/// <summary>The same API behind real Kestrel, for limits TestServer does not enforce (request body size).</summary>
public sealed class KestrelApiFactory : ApiFactory
{
    public override async Task InitializeAsync()
    {
        await base.InitializeAsync();
        UseKestrel(0);
        StartServer();
    }
}
