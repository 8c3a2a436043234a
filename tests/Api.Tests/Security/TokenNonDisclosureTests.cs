using System.Text;
using OutboxSync.Api.Auth;
using static OutboxSync.Api.Tests.Infrastructure.Neutron;

namespace OutboxSync.Api.Tests.Security;

/// <summary>
/// No response, successful or refused, carries a token or its stored hash: not in bodies, not in headers, not in
/// the operator API's audit trail or outbox payloads, and not the (bad) token a caller just sent.
/// </summary>
public sealed class TokenNonDisclosureTests(ApiFactory api) : IClassFixture<ApiFactory>
{
    private const string BadToken = "bad-token-3f9c1e";

    private static readonly string[] Tokens = [ApiFactory.AdminToken, ApiFactory.P1Token, ApiFactory.P2Token, BadToken];

    private static IEnumerable<string> Secrets() => Tokens.SelectMany(t =>
    {
        var hash = TokenRegistry.Hash(t);
        return new[] { t, hash.ToLowerInvariant(), hash.ToUpperInvariant(), Convert.ToBase64String(Encoding.UTF8.GetBytes(t)) };
    });

    private async Task<string> SendRawAsync(string? token, HttpMethod method, string path, string? body = null)
    {
        using var http = api.CreateClient();
        using var request = new HttpRequestMessage(method, path);
        if (token is not null)
        {
            request.Headers.TryAddWithoutValidation("X-Auth-Token", token);
        }
        if (body is not null)
        {
            request.Content = new StringContent(body, Encoding.UTF8, "application/json");
        }
        using var response = await http.SendAsync(request);
        var text = new StringBuilder($"{(int)response.StatusCode} {method} {path}\n");
        foreach (var (name, values) in response.Headers.Concat(response.Content.Headers))
        {
            text.Append(name).Append(": ").AppendJoin(", ", values).Append('\n');
        }
        return text.Append(await response.Content.ReadAsStringAsync()).ToString();
    }

    [Fact]
    public async Task No_response_of_any_endpoint_for_any_caller_contains_a_token_or_its_hash()
    {
        var (network, subnet) = await api.P1.CreateNetworkWithSubnetAsync();
        var port = await api.P1.CreatePortAsync(Id(network));
        var router = await api.P1.CreateRouterAsync();
        var seq = (await api.Db.OutboxForAsync(Id(network))).First().Seq;
        var calls = new List<(HttpMethod, string, string?)>
        {
            (HttpMethod.Get, "/", null), (HttpMethod.Get, "/v2.0", null), (HttpMethod.Get, "/v2.0/extensions", null),
            (HttpMethod.Post, "/v2.0/networks", "{\"network\":{\"name\":\"tok\"}}"), (HttpMethod.Post, "/v2.0/networks", "{\"network\":"),
            (HttpMethod.Put, $"/v2.0/networks/{Id(network)}", "{\"network\":{\"name\":\"tok2\"}}"),
            (HttpMethod.Put, $"/v2.0/networks/{Id(network)}", "{\"network\":{\"colour\":1}}"),
            (HttpMethod.Put, $"/v2.0/routers/{Id(router)}/add_router_interface", $"{{\"subnet_id\":\"{Id(subnet)}\"}}"),
            (HttpMethod.Put, $"/v2.0/ports/{Id(port)}/tags/t1", null), (HttpMethod.Get, $"/v2.0/ports/{Id(port)}/tags", null),
            (HttpMethod.Delete, $"/v2.0/ports/{Guid.NewGuid()}", null), (HttpMethod.Get, "/v2.0/nowhere", null),
            (HttpMethod.Patch, "/v2.0/networks", "{}"),
            (HttpMethod.Get, "/admin/v1/outbox", null), (HttpMethod.Get, "/admin/v1/audit", null), (HttpMethod.Get, "/admin/v1/leases", null),
            (HttpMethod.Get, "/admin/v1/workers", null), (HttpMethod.Post, "/admin/v1/reconciliations", "{}"),
            (HttpMethod.Get, "/admin/v1/reconciliations/latest", null), (HttpMethod.Post, $"/admin/v1/outbox/{seq}/discard", "{}"),
            (HttpMethod.Post, $"/admin/v1/outbox/{seq}/retry", "{}"),
        };
        foreach (var collection in Collections)
        {
            calls.Add((HttpMethod.Get, $"/v2.0/{collection}", null));
            calls.Add((HttpMethod.Get, $"/v2.0/{collection}?fields=project_id&fields=tenant_id&limit=1", null));
            calls.Add((HttpMethod.Get, $"/v2.0/{collection}?colour=red", null));
        }
        var responses = 0;
        foreach (var token in new string?[] { ApiFactory.AdminToken, ApiFactory.P1Token, ApiFactory.P2Token, BadToken, null })
        {
            foreach (var (method, path, body) in calls)
            {
                var text = await SendRawAsync(token, method, path, body);
                foreach (var secret in Secrets())
                {
                    Assert.False(text.Contains(secret, StringComparison.Ordinal), $"a token or token hash appears in:\n{text}");
                }
                Assert.False(text.StartsWith('5'), text);
                responses++;
            }
        }
        Assert.True(responses > 150);
    }

    [Fact]
    public async Task Outbox_payloads_and_the_audit_trail_hold_no_token_or_hash()
    {
        await api.P1.CreateNetworkAsync();
        (await api.Admin.PostAsync("/admin/v1/reconciliations", new JsonObject())).Expect(HttpStatusCode.Accepted);
        var stored = await api.Db.ScalarAsync<string>(
            "select coalesce(string_agg(o::text, '|'), '') || (select coalesce(string_agg(a::text, '|'), '') from operator_audit a) || " +
            "(select coalesce(string_agg(r::text, '|'), '') from reconciliation_runs r) from outbox_entries o");
        foreach (var secret in Secrets())
        {
            Assert.DoesNotContain(secret, stored, StringComparison.Ordinal);
        }
    }
}
