using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;

namespace OutboxSync.Worker.Tests.Support;

/// <summary>
/// The real API process (src/Api's build output) on a loopback port, with one admin token whose operator name is
/// <see cref="OperatorName"/>. <see cref="Neutron"/> calls /v2.0 and <see cref="Http"/> the root (operator API,
/// health, metrics), both with the token.
/// </summary>
public sealed class ApiProcess : IAsyncDisposable
{
    public const string Token = "observability-admin-token-0123456789";
    public const string OperatorName = "ops-alice";

    private ApiProcess(ServiceProcess process)
    {
        Process = process;
        Http = new HttpClient { BaseAddress = new Uri(process.Url + "/"), Timeout = TimeSpan.FromSeconds(30) };
        Http.DefaultRequestHeaders.Add("X-Auth-Token", Token);
        Neutron = new HttpClient { BaseAddress = new Uri(process.Url + "/v2.0/"), Timeout = TimeSpan.FromSeconds(30) };
        Neutron.DefaultRequestHeaders.Add("X-Auth-Token", Token);
    }

    public ServiceProcess Process { get; }
    public HttpClient Http { get; }
    public HttpClient Neutron { get; }

    /// <param name="healthPath">Waited for at start; "/health/live" when the database may be down.</param>
    public static async Task<ApiProcess> StartAsync(string connectionString, string healthPath = "/health/ready") =>
        new(await ServiceProcess.StartAsync("Api", new Dictionary<string, string>
        {
            ["Database__ConnectionString"] = connectionString,
            ["Auth__Tokens__0__Sha256"] = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(Token))),
            ["Auth__Tokens__0__ProjectId"] = "obs-project",
            ["Auth__Tokens__0__Roles__0"] = "admin",
            ["Auth__Tokens__0__Name"] = OperatorName,
            ["Api__RateLimit__Enabled"] = "false",
            ["Logging__LogLevel__Default"] = "Warning",
        }, healthPath: healthPath));

    /// <summary>POSTs a Neutron create and returns the new id.</summary>
    public async Task<Guid> CreateAsync(string collection, string member, JsonObject body, Action<HttpRequestMessage>? decorate = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, collection) { Content = JsonContent.Create(new JsonObject { [member] = body }) };
        decorate?.Invoke(request);
        using var response = await Neutron.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"POST {collection}: {(int)response.StatusCode} {text}");
        return Guid.Parse(JsonNode.Parse(text)![member]!["id"]!.GetValue<string>());
    }

    /// <summary>Status of a resource as the API shows it.</summary>
    public async Task<string> StatusAsync(string collection, string member, Guid id) =>
        (await Neutron.GetFromJsonAsync<JsonObject>($"{collection}/{id}"))![member]!["status"]!.GetValue<string>();

    public Task<string> WaitForStatusAsync(string collection, string member, Guid id, string status, TimeSpan? timeout = null) =>
        Eventually.WaitAsync(() => StatusAsync(collection, member, id), s => s == status, timeout ?? TimeSpan.FromSeconds(90),
            $"{member} {id} {status}");

    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        Neutron.Dispose();
        await Process.DisposeAsync();
    }
}
