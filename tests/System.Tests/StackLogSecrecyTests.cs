using System.Net;
using System.Text.Json.Nodes;
using OutboxSync.System.Tests.Support;
using Xunit;

namespace OutboxSync.System.Tests;

/// <summary>
/// No secret reaches any log: the whole stack (simulator, API, two workers) runs at Debug level through a workload
/// with admin, project and unknown tokens, then every process's stdout and stderr is searched for every token,
/// every configured token hash and both database passwords.
/// </summary>
[Collection(nameof(WholeStackCollection))]
public sealed class StackLogSecrecyTests : IAsyncLifetime
{
    private static readonly StackToken Admin = new("secrecy-admin-token-a1b2c3d4e5f6", "admin-project", "admin", Admin: true);
    private static readonly StackToken Project1 = new("secrecy-project1-token-g7h8i9j0k1", "project1", "project1");
    private static readonly StackToken Project2 = new("secrecy-project2-token-l2m3n4o5p6", "project2", "project2");
    // Never configured: a mistyped token (or another system's) must not be echoed either.
    private static readonly StackToken Unknown = new("secrecy-unknown-token-q7r8s9t0u1", "nowhere", "unknown");
    private RunningStack _stack = null!;

    public async Task InitializeAsync() =>
        _stack = await RunningStack.StartAsync([Admin, Project1, Project2], logLevel: "Debug");

    public async Task DisposeAsync() => await _stack.DisposeAsync();

    [Fact]
    public async Task No_token_token_hash_or_database_password_appears_in_any_process_log()
    {
        using (var admin = new NeutronSession(_stack.ApiUrl, Admin.Value))
        using (var p1 = new NeutronSession(_stack.ApiUrl, Project1.Value))
        using (var p2 = new NeutronSession(_stack.ApiUrl, Project2.Value))
        using (var unknown = new NeutronSession(_stack.ApiUrl, Unknown.Value))
        {
            await RunWorkloadAsync(admin, p1, p2, unknown);
        }
        await _stack.StopAsync();

        var secrets = new Dictionary<string, string>
        {
            ["the database password of the API login"] = _stack.ApiLogin.Password,
            ["the database password of the worker login"] = _stack.WorkerLogin.Password,
        };
        foreach (var token in new[] { Admin, Project1, Project2, Unknown })
        {
            secrets[$"the {token.Name} token"] = token.Value;
            secrets[$"the {token.Name} token's SHA-256"] = token.Sha256;
        }
        Assert.Equal(4, _stack.Processes.Count);
        foreach (var (name, process) in _stack.Processes)
        {
            var log = process.Output;
            Assert.False(string.IsNullOrWhiteSpace(log), $"{name} wrote no log at Debug level; nothing was checked");
            foreach (var (what, secret) in secrets)
            {
                Assert.False(log.Contains(secret, StringComparison.OrdinalIgnoreCase), $"{name}'s log contains {what}");
            }
        }
    }

    private static async Task RunWorkloadAsync(NeutronSession admin, NeutronSession p1, NeutronSession p2, NeutronSession unknown)
    {
        var network = await p1.CreateAsync("networks", "network", new JsonObject { ["name"] = "secret-net" });
        var subnet = await p1.CreateAsync("subnets", "subnet", new JsonObject { ["network_id"] = network, ["cidr"] = "10.50.0.0/24", ["ip_version"] = 4 });
        var port = await p1.CreateAsync("ports", "port", new JsonObject { ["network_id"] = network, ["name"] = "secret-port" });
        await p1.SendOkAsync(HttpMethod.Put, $"/v2.0/networks/{network}", new JsonObject { ["network"] = new JsonObject { ["name"] = "secret-net-2" } });
        var other = await p2.CreateAsync("networks", "network", new JsonObject { ["name"] = "other" });
        var router = await admin.CreateAsync("routers", "router", new JsonObject { ["name"] = "secret-router" });

        // Failures are where a token is most tempting to log: bad bodies, other projects' resources, unknown tokens.
        await AssertStatusAsync(p1, HttpMethod.Post, "/v2.0/networks", new JsonObject { ["network"] = new JsonObject { ["bogus"] = 1 } }, HttpStatusCode.BadRequest);
        await AssertStatusAsync(p2, HttpMethod.Get, $"/v2.0/networks/{network}", null, HttpStatusCode.NotFound);
        await AssertStatusAsync(p2, HttpMethod.Delete, $"/v2.0/networks/{network}", null, HttpStatusCode.NotFound);
        await AssertStatusAsync(p1, HttpMethod.Get, "/admin/v1/outbox", null, HttpStatusCode.Forbidden);
        await AssertStatusAsync(unknown, HttpMethod.Get, "/v2.0/networks", null, HttpStatusCode.Unauthorized);
        await AssertStatusAsync(unknown, HttpMethod.Post, "/v2.0/networks", new JsonObject { ["network"] = new JsonObject { ["name"] = "x" } }, HttpStatusCode.Unauthorized);

        await admin.SendOkAsync(HttpMethod.Get, "/v2.0/networks");
        await admin.SendOkAsync(HttpMethod.Get, "/admin/v1/outbox");
        await admin.SendOkAsync(HttpMethod.Get, "/admin/v1/workers");
        await admin.SendOkAsync(HttpMethod.Get, "/admin/v1/leases");
        await admin.SendOkAsync(HttpMethod.Post, "/admin/v1/reconciliations");
        await admin.SendOkAsync(HttpMethod.Get, "/admin/v1/audit");

        await p1.WaitForStatusAsync($"/v2.0/networks/{network}", "network", "ACTIVE");
        await p1.WaitForStatusAsync($"/v2.0/subnets/{subnet}", "subnet", "ACTIVE");
        await p1.WaitForStatusAsync($"/v2.0/ports/{port}", "port", "ACTIVE");
        await p2.WaitForStatusAsync($"/v2.0/networks/{other}", "network", "ACTIVE");
        await admin.WaitForStatusAsync($"/v2.0/routers/{router}", "router", "ACTIVE");
        await p1.SendOkAsync(HttpMethod.Delete, $"/v2.0/ports/{port}");
        await p1.WaitForGoneAsync($"/v2.0/ports/{port}");
    }

    private static async Task AssertStatusAsync(NeutronSession session, HttpMethod method, string path, JsonObject? body, HttpStatusCode expected)
    {
        using var response = await session.SendAsync(method, path, body);
        Assert.Equal(expected, response.StatusCode);
    }
}
