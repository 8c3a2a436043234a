using System.Diagnostics;
using System.Net;
using System.Text.Json.Nodes;
using OutboxSync.Api.Tests.Infrastructure;
using OutboxSync.Testing;
using Xunit;
using static OutboxSync.Api.Tests.Infrastructure.Neutron;

namespace OutboxSync.Api.Tests.Auth;

/// <summary>
/// Tokens issued by a real Keystone, validated by the API as keystonemiddleware does: projects and roles as
/// Neutron's defaults, project scope only, the Keystone challenge on 401, caching bounded by time and size.
/// </summary>
public sealed class KeystoneTokenTests(KeystoneApiFactory api) : IClassFixture<KeystoneApiFactory>
{
    private KeystoneServer Keystone => api.Keystone;

    [Fact]
    public async Task A_member_acts_in_its_keystone_project_and_the_other_project_sees_nothing_of_it()
    {
        var user1 = api.WithToken(await Keystone.IssueTokenAsync(Keystone.Project1));
        var user2 = api.WithToken(await Keystone.IssueTokenAsync(Keystone.Project2));

        var network = await user1.CreateNetworkAsync();
        Assert.Equal(await Keystone.ProjectIdAsync(Keystone.Project1), Str(network, "project_id"));

        Assert.Contains(Id(network), Ids((await user1.GetAsync("/v2.0/networks")).Expect(HttpStatusCode.OK).Items("networks")));
        Assert.DoesNotContain(Id(network), Ids((await user2.GetAsync("/v2.0/networks")).Expect(HttpStatusCode.OK).Items("networks")));
        (await user2.GetAsync($"/v2.0/networks/{Id(network)}")).ExpectNeutronError(HttpStatusCode.NotFound);
        (await user2.DeleteAsync($"/v2.0/networks/{Id(network)}")).ExpectNeutronError(HttpStatusCode.NotFound);
        (await user2.PostAsync("/v2.0/networks", new { network = new { name = "x", project_id = Str(network, "project_id") } }))
            .ExpectNeutronError(HttpStatusCode.Forbidden);
    }

    [Fact]
    public async Task An_admin_sees_every_project_and_creates_in_another()
    {
        var admin = api.WithToken(await Keystone.IssueTokenAsync(Keystone.Admin));
        var user1 = api.WithToken(await Keystone.IssueTokenAsync(Keystone.Project1));
        var project2 = await Keystone.ProjectIdAsync(Keystone.Project2);

        var owned = await user1.CreateNetworkAsync();
        Assert.Contains(Id(owned), Ids((await admin.GetAsync("/v2.0/networks")).Expect(HttpStatusCode.OK).Items("networks")));
        var created = (await admin.PostAsync("/v2.0/networks", new { network = new { name = Unique("for-p2"), project_id = project2 } }))
            .Expect(HttpStatusCode.Created).Item("network");
        Assert.Equal(project2, Str(created, "project_id"));
        (await admin.GetAsync("/admin/v1/workers")).ExpectOneOf(HttpStatusCode.OK);
        (await user1.GetAsync("/admin/v1/workers")).ExpectNeutronError(HttpStatusCode.Forbidden);
    }

    [Fact]
    public async Task A_reader_reads_its_project_and_every_write_is_forbidden()
    {
        var member = await Keystone.CreateUserAsync(["member"]);
        var reader = await Keystone.CreateUserAsync(["reader"]);
        var readerClient = api.WithToken(await Keystone.IssueTokenAsync(reader));

        (await readerClient.GetAsync("/v2.0/networks")).Expect(HttpStatusCode.OK);
        (await readerClient.PostAsync("/v2.0/networks", new { network = new { name = "nope" } })).ExpectNeutronError(HttpStatusCode.Forbidden);
        var network = await api.WithToken(await Keystone.IssueTokenAsync(member)).CreateNetworkAsync();
        (await readerClient.PutAsync($"/v2.0/networks/{Id(network)}", new { network = new { name = "nope" } })).ExpectNeutronError(HttpStatusCode.Forbidden);
        (await readerClient.DeleteAsync($"/v2.0/networks/{Id(network)}")).ExpectNeutronError(HttpStatusCode.Forbidden);
        Assert.Equal(1, await api.Db.ScalarAsync<long>($"select count(*) from networks where id = '{Id(network)}' and name = '{Str(network, "name")}'"));
        Assert.Equal(0, await api.Db.ScalarAsync<long>("select count(*) from networks where name = 'nope'"));
    }

    [Fact]
    public async Task A_token_without_a_network_role_is_forbidden()
    {
        var outsider = await Keystone.CreateUserAsync(["observer"]);
        (await api.WithToken(await Keystone.IssueTokenAsync(outsider)).GetAsync("/v2.0/networks")).ExpectNeutronError(HttpStatusCode.Forbidden);
    }

    [Fact]
    public async Task Only_project_scoped_tokens_are_accepted()
    {
        var domainAdmin = await Keystone.CreateUserAsync(["admin"], onDomain: true);
        var domainScoped = await Keystone.IssueDomainScopedTokenAsync(domainAdmin);
        // A user with no default project: Keystone scopes a request without scope to the default project if there is one.
        var unscoped = await Keystone.IssueUnscopedTokenAsync(domainAdmin);

        var error = (await api.WithToken(domainScoped).GetAsync("/v2.0/networks")).ExpectNeutronError(HttpStatusCode.Forbidden);
        Assert.Contains("project-scoped", error["message"]!.GetValue<string>(), StringComparison.Ordinal);
        (await api.WithToken(unscoped).PostAsync("/v2.0/networks", new { network = new { name = "unscoped" } })).ExpectNeutronError(HttpStatusCode.Forbidden);
        Assert.Equal(0, await api.Db.ScalarAsync<long>("select count(*) from networks where name = 'unscoped'"));
    }

    [Theory]
    [InlineData(null)]
    [InlineData("gAAAAABnot-a-real-token")]
    [InlineData("token with spaces")]
    public async Task A_missing_or_unknown_token_gets_401_naming_keystone(string? token)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/v2.0/networks");
        if (token is not null)
        {
            request.Headers.TryAddWithoutValidation("X-Auth-Token", token);
        }
        using var response = await api.CreateClient().SendAsync(request);

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal($"Keystone uri=\"{Keystone.AuthUrl}\"", response.Headers.WwwAuthenticate.ToString());
        Assert.Contains("NeutronError", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_revoked_token_is_refused_once_the_cache_time_has_passed()
    {
        var cacheTime = TimeSpan.FromSeconds(3);
        var token = await Keystone.IssueTokenAsync(Keystone.Project1);
        var client = api.ClientWith(new Dictionary<string, string> { ["Auth:Keystone:CacheDuration"] = "00:00:03" }, token);
        (await client.GetAsync("/v2.0/networks")).Expect(HttpStatusCode.OK);

        await Keystone.RevokeAsync(token);
        var revoked = Stopwatch.StartNew();
        // Keystone now says 404 for it, but the API trusts its cached answer until the cache time is over.
        (await client.GetAsync("/v2.0/networks")).Expect(HttpStatusCode.OK);
        await Eventually.HoldsAsync(async () => (await client.GetAsync("/v2.0/networks")).Status == HttpStatusCode.Unauthorized,
            "the revoked token is refused", TimeSpan.FromSeconds(30));
        Assert.True(revoked.Elapsed < cacheTime + TimeSpan.FromSeconds(5), $"refused only after {revoked.Elapsed}");
    }

    [Fact]
    public async Task With_a_cache_time_of_zero_a_revoked_token_is_refused_on_the_next_request()
    {
        var token = await Keystone.IssueTokenAsync(Keystone.Project2);
        var client = api.ClientWith(new Dictionary<string, string> { ["Auth:Keystone:CacheDuration"] = "00:00:00" }, token);
        (await client.GetAsync("/v2.0/networks")).Expect(HttpStatusCode.OK);

        await Keystone.RevokeAsync(token);

        (await client.GetAsync("/v2.0/networks")).ExpectNeutronError(HttpStatusCode.Unauthorized);
    }

    [Fact]
    public async Task A_flood_of_bogus_tokens_never_holds_more_than_the_cache_bound_and_valid_tokens_still_work()
    {
        const int bound = 20;
        var host = api.WithWebHostBuilder(b => b.UseSetting("Auth:Keystone:MaxCachedTokens", bound.ToString(global::System.Globalization.CultureInfo.InvariantCulture)));
        var cache = (OutboxSync.Api.Auth.KeystoneTokenCache)host.Services.GetService(typeof(OutboxSync.Api.Auth.KeystoneTokenCache))!;
        var http = host.CreateClient();

        for (var i = 0; i < 5 * bound; i++)
        {
            var bogus = new ApiClient(http, $"gAAAAAB-bogus-{Guid.NewGuid():N}");
            (await bogus.GetAsync("/v2.0/networks")).ExpectNeutronError(HttpStatusCode.Unauthorized);
            Assert.True(cache.Count <= bound, $"{cache.Count} tokens cached with a bound of {bound}");
        }
        var valid = new ApiClient(http, await Keystone.IssueTokenAsync(Keystone.Project1));
        (await valid.GetAsync("/v2.0/networks")).Expect(HttpStatusCode.OK);
        Assert.True(cache.Count <= bound);
    }

    [Fact]
    public async Task Concurrent_requests_with_one_new_token_all_succeed()
    {
        var client = api.WithToken(await Keystone.IssueTokenAsync(Keystone.Project1));
        var responses = await Task.WhenAll(Enumerable.Range(0, 20).Select(_ => client.GetAsync("/v2.0/networks")));
        Assert.All(responses, r => r.Expect(HttpStatusCode.OK));
    }

    [Fact]
    public async Task Keystone_unreachable_gives_503_and_never_accepts_the_token()
    {
        var token = await Keystone.IssueTokenAsync(Keystone.Project1);
        var closedPort = ServiceProcess.FreePort();
        var client = api.ClientWith(new Dictionary<string, string> { ["Auth:Keystone:AuthUrl"] = $"http://127.0.0.1:{closedPort}/v3" }, token);

        var refused = await client.PostAsync("/v2.0/networks", new { network = new { name = "while-keystone-is-down" } });

        refused.ExpectNeutronError(HttpStatusCode.ServiceUnavailable, "ServiceUnavailable");
        Assert.Equal(0, await api.Db.ScalarAsync<long>("select count(*) from networks where name = 'while-keystone-is-down'"));
    }

    [Fact]
    public async Task Static_tokens_keep_working_beside_keystone()
    {
        (await api.P1.GetAsync("/v2.0/networks")).Expect(HttpStatusCode.OK);
        (await api.Admin.GetAsync("/admin/v1/workers")).Expect(HttpStatusCode.OK);
    }
}

/// <summary>
/// Against a Keystone of its own (20 s tokens), so stopping it disturbs no other test: a cached token outlives a
/// Keystone outage, an uncached one gets 503, an expired token is refused however long the cache time, and the
/// API renews its own service token.
/// </summary>
public sealed class KeystoneOutageAndExpiryTests(DedicatedKeystoneApiFactory api) : IClassFixture<DedicatedKeystoneApiFactory>
{
    private KeystoneServer Keystone => api.Keystone;

    [Fact]
    public async Task While_keystone_hangs_cached_tokens_work_and_others_get_503_then_all_work_again()
    {
        var cached = api.WithToken(await Keystone.IssueTokenAsync(Keystone.Project1));
        var uncached = api.WithToken(await Keystone.IssueTokenAsync(Keystone.Project2));
        (await cached.GetAsync("/v2.0/networks")).Expect(HttpStatusCode.OK);

        Keystone.Pause(true);
        try
        {
            (await cached.GetAsync("/v2.0/networks")).Expect(HttpStatusCode.OK);
            var started = Stopwatch.StartNew();
            (await uncached.GetAsync("/v2.0/networks")).ExpectNeutronError(HttpStatusCode.ServiceUnavailable);
            Assert.True(started.Elapsed < TimeSpan.FromSeconds(10), $"503 only after {started.Elapsed} (timeout 2 s)");
            (await api.WithToken("gAAAAAB-bogus").PostAsync("/v2.0/networks", new { network = new { name = "while-paused" } }))
                .ExpectNeutronError(HttpStatusCode.ServiceUnavailable);
        }
        finally
        {
            Keystone.Pause(false);
        }
        (await uncached.GetAsync("/v2.0/networks")).Expect(HttpStatusCode.OK);
        Assert.Equal(0, await api.Db.ScalarAsync<long>("select count(*) from networks where name = 'while-paused'"));
    }

    [Fact]
    public async Task An_expired_token_is_refused_although_the_cache_time_is_longer_and_the_service_token_is_renewed()
    {
        var issued = DateTime.UtcNow;
        var token = await Keystone.IssueTokenAsync(Keystone.Project1);
        var client = api.WithToken(token);
        (await client.GetAsync("/v2.0/networks")).Expect(HttpStatusCode.OK); // cached for up to 5 minutes, but not past expiry

        await Eventually.HoldsAsync(async () => (await client.GetAsync("/v2.0/networks")).Status == HttpStatusCode.Unauthorized,
            "the expired token is refused", DedicatedKeystoneApiFactory.TokenLifetime + TimeSpan.FromSeconds(30));
        Assert.True(DateTime.UtcNow - issued >= DedicatedKeystoneApiFactory.TokenLifetime - TimeSpan.FromSeconds(2),
            "refused before it expired");

        // The API's own service token (also 20 s) has expired by now: validating a new token needs a renewed one.
        (await api.WithToken(await Keystone.IssueTokenAsync(Keystone.Project2)).GetAsync("/v2.0/networks")).Expect(HttpStatusCode.OK);
    }
}
