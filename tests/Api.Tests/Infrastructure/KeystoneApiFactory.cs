using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using OutboxSync.Api.Auth;
using OutboxSync.Testing;

namespace OutboxSync.Api.Tests.Infrastructure;

/// <summary>
/// The API in-process validating tokens with the test process's real Keystone (<see cref="KeystoneServer"/>), with
/// Keystone calls limited to 2 s so an outage shows quickly. The static tokens of <see cref="ApiFactory"/> stay too.
/// </summary>
public class KeystoneApiFactory : ApiFactory
{
    private KeystoneServer? _keystone;

    public KeystoneServer Keystone => _keystone ?? throw new InvalidOperationException("Fixture not initialised.");

    /// <summary>The Keystone this fixture uses; the shared one unless a derived fixture needs its own.</summary>
    protected virtual Task<KeystoneServer> StartKeystoneAsync() => KeystoneServer.InstanceAsync();

    public override async Task InitializeAsync()
    {
        _keystone = await StartKeystoneAsync();
        await base.InitializeAsync();
    }

    /// <summary>A client presenting <paramref name="token"/>.</summary>
    public ApiClient WithToken(string token) => Client(token);

    /// <summary>Another API host on the same database and Keystone with some settings changed (each is its own process
    /// in production: its own token cache).</summary>
    public ApiClient ClientWith(IDictionary<string, string> settings, string? token)
    {
        var host = WithWebHostBuilder(b =>
        {
            foreach (var (key, value) in settings)
            {
                b.UseSetting(key, value);
            }
        });
        return new ApiClient(host.CreateClient(), token);
    }

    /// <summary>The token cache of this fixture's host.</summary>
    public KeystoneTokenCache TokenCache => Services.GetRequiredService<KeystoneTokenCache>();

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        base.ConfigureWebHost(builder);
        foreach (var (key, value) in Keystone.ApiSettings())
        {
            builder.UseSetting(key, value);
        }
        builder.UseSetting("Auth:Keystone:Timeout", "00:00:02");
    }
}

/// <summary>A Keystone of the fixture's own whose tokens live 20 s, for expiry and for outages that must not disturb
/// other tests' Keystone.</summary>
public sealed class DedicatedKeystoneApiFactory : KeystoneApiFactory
{
    public static readonly TimeSpan TokenLifetime = TimeSpan.FromSeconds(20);

    protected override Task<KeystoneServer> StartKeystoneAsync() => KeystoneServer.StartDedicatedAsync(TokenLifetime);

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        base.ConfigureWebHost(builder);
        // The service token lives 20 s too: renewed when under 5 s are left.
        builder.UseSetting("Auth:Keystone:ServiceTokenRenewBefore", "00:00:05");
    }

    protected override async Task DisposeFixtureAsync() => await Keystone.DisposeAsync();
}
