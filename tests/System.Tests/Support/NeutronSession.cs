using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using OutboxSync.Testing;
using Xunit;

namespace OutboxSync.System.Tests.Support;

/// <summary>HTTP calls to the running API with one token: Neutron (/v2.0) and operator (/admin/v1) paths.</summary>
public sealed class NeutronSession(Uri apiUrl, string token) : IDisposable
{
    private readonly HttpClient _http = CreateClient(apiUrl, token);

    public async Task<HttpResponseMessage> SendAsync(HttpMethod method, string path, JsonObject? body = null)
    {
        using var request = new HttpRequestMessage(method, path) { Content = body is null ? null : JsonContent.Create(body) };
        return await _http.SendAsync(request);
    }

    /// <summary>Sends and asserts a 2xx answer; returns its JSON body (empty for 204).</summary>
    public async Task<JsonObject> SendOkAsync(HttpMethod method, string path, JsonObject? body = null)
    {
        using var response = await SendAsync(method, path, body);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"{method} {path}: {(int)response.StatusCode} {text}");
        return text.Length == 0 ? [] : JsonNode.Parse(text)!.AsObject();
    }

    public async Task<string> CreateAsync(string collection, string member, JsonObject body) =>
        (await SendOkAsync(HttpMethod.Post, $"/v2.0/{collection}", new JsonObject { [member] = body }))[member]!["id"]!.GetValue<string>();

    public Task WaitForStatusAsync(string path, string member, string status) =>
        Eventually.WaitAsync(async () => (await SendOkAsync(HttpMethod.Get, path))[member]!["status"]!.GetValue<string>(),
            s => s == status, TimeSpan.FromSeconds(90), $"{path} {status}");

    public Task WaitForGoneAsync(string path) =>
        Eventually.WaitAsync(async () =>
        {
            using var response = await SendAsync(HttpMethod.Get, path);
            return response.StatusCode;
        }, s => s == HttpStatusCode.NotFound, TimeSpan.FromSeconds(90), $"{path} gone");

    public void Dispose() => _http.Dispose();

    private static HttpClient CreateClient(Uri apiUrl, string token)
    {
        var http = new HttpClient { BaseAddress = apiUrl, Timeout = TimeSpan.FromSeconds(30) };
        http.DefaultRequestHeaders.Add("X-Auth-Token", token);
        return http;
    }
}
