using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace OutboxSync.Chaos.Tests.Workload;

/// <summary>Plain HTTP to one API process (v2.0 and the operator API) with the chaos run's admin token.</summary>
public sealed class NeutronClient : IDisposable
{
    private readonly HttpClient _http;

    public NeutronClient(string baseUrl, string token, bool viaBouncer)
    {
        ViaBouncer = viaBouncer;
        _http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = 64 })
        {
            BaseAddress = new Uri(baseUrl.TrimEnd('/') + "/"),
            Timeout = TimeSpan.FromSeconds(30),
        };
        _http.DefaultRequestHeaders.Add("X-Auth-Token", token);
    }

    /// <summary>Whether this API process reaches PostgreSQL through PgBouncer.</summary>
    public bool ViaBouncer { get; }

    /// <summary>Sends one request; transport failures and timeouts throw (<see cref="HttpRequestException"/>,
    /// <see cref="TaskCanceledException"/>).</summary>
    public async Task<NeutronAnswer> SendAsync(HttpMethod method, string path, JsonObject? body, CancellationToken ct)
    {
        using var request = new HttpRequestMessage(method, path) { Content = body is null ? null : JsonContent.Create(body) };
        using var response = await _http.SendAsync(request, ct);
        var text = await response.Content.ReadAsStringAsync(ct);
        JsonObject? parsed = null;
        if (text.Length > 0)
        {
            try
            {
                parsed = JsonNode.Parse(text) as JsonObject;
            }
            catch (JsonException)
            {
            }
        }
        return new NeutronAnswer((int)response.StatusCode, parsed, text);
    }

    public void Dispose() => _http.Dispose();
}
