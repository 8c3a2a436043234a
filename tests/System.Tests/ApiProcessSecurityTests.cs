using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using OutboxSync.Testing;
using Xunit;

namespace OutboxSync.System.Tests;

/// <summary>Limits and secrecy of the API as a running process: rate limiting per token, and no token in any log.</summary>
public sealed class ApiProcessSecurityTests : IAsyncLifetime
{
    private const string Token = "secret-token-abcdefghijklmnop";
    private const string OtherToken = "other-secret-token-qrstuvwxyz";
    private TestDatabase _db = null!;
    private ServiceProcess _api = null!;

    public async Task InitializeAsync()
    {
        _db = await TestDatabase.CreateAsync();
        _api = await ServiceProcess.StartAsync("Api", new Dictionary<string, string>
        {
            ["Database__ConnectionString"] = _db.ConnectionString,
            ["Auth__Tokens__0__Sha256"] = Hash(Token),
            ["Auth__Tokens__0__ProjectId"] = "project1",
            ["Auth__Tokens__0__Name"] = "p1",
            ["Auth__Tokens__1__Sha256"] = Hash(OtherToken),
            ["Auth__Tokens__1__ProjectId"] = "project2",
            ["Auth__Tokens__1__Name"] = "p2",
            ["Api__RateLimit__PermitsPerSecond"] = "1",
            ["Api__RateLimit__Burst"] = "5",
            ["Logging__LogLevel__Default"] = "Debug",
        });
    }

    public async Task DisposeAsync()
    {
        await _api.DisposeAsync();
        await _db.DisposeAsync();
    }

    [Fact]
    public async Task A_token_over_its_rate_gets_429_with_retry_after_while_other_tokens_are_unaffected()
    {
        using var http = new HttpClient();
        var statuses = new List<HttpStatusCode>();
        HttpResponseMessage? limited = null;
        for (var i = 0; i < 8; i++)
        {
            var response = await SendAsync(http, Token, HttpMethod.Get, "/v2.0/networks");
            statuses.Add(response.StatusCode);
            if (response.StatusCode == HttpStatusCode.TooManyRequests)
            {
                limited = response;
            }
        }
        Assert.NotNull(limited);
        Assert.True(statuses.Take(5).All(s => s == HttpStatusCode.OK), string.Join(",", statuses));
        Assert.True(limited!.Headers.RetryAfter?.Delta >= TimeSpan.FromSeconds(1));
        var body = JsonDocument.Parse(await limited.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal("HTTPTooManyRequests", body.GetProperty("NeutronError").GetProperty("type").GetString());

        Assert.Equal(HttpStatusCode.OK, (await SendAsync(http, OtherToken, HttpMethod.Get, "/v2.0/networks")).StatusCode);
    }

    [Fact]
    public async Task Tokens_never_appear_in_the_api_logs()
    {
        using var http = new HttpClient();
        await SendAsync(http, Token, HttpMethod.Post, "/v2.0/networks", """{"network": {"name": "n"}}""");
        await SendAsync(http, Token, HttpMethod.Post, "/v2.0/networks", """{"network": {"bogus": 1}}""");
        await SendAsync(http, "wrong-" + Token, HttpMethod.Get, "/v2.0/networks");
        await SendAsync(http, OtherToken, HttpMethod.Get, "/v2.0/networks/" + Guid.NewGuid());
        await _api.DisposeAsync();
        var logs = _api.Output;
        Assert.False(string.IsNullOrWhiteSpace(logs));
        Assert.DoesNotContain(Token, logs, StringComparison.Ordinal);
        Assert.DoesNotContain(OtherToken, logs, StringComparison.Ordinal);
        Assert.DoesNotContain(Hash(Token), logs, StringComparison.Ordinal);
    }

    private async Task<HttpResponseMessage> SendAsync(HttpClient http, string token, HttpMethod method, string path, string? json = null)
    {
        var request = new HttpRequestMessage(method, _api.Url + path);
        request.Headers.Add("X-Auth-Token", token);
        if (json is not null)
        {
            request.Content = new StringContent(json, Encoding.UTF8, "application/json");
        }
        return await http.SendAsync(request);
    }

    private static string Hash(string token) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(token)));
}
