using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;

namespace OutboxSync.Simulator.Tests.Support;

/// <summary>Speaks the gateway contract the way a controller adapter would, plus the /_sim admin calls.</summary>
internal sealed class GatewayClient(HttpClient http)
{
    public static readonly JsonSerializerOptions Json = new() { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    public HttpClient Http => http;

    public Task<HttpResponseMessage> CreateAsync(
        string collection, string id, long revision, object? attributes = null, long token = 1, string? key = null,
        CancellationToken cancellationToken = default) =>
        MutateAsync(HttpMethod.Post, $"/v1/{collection}", new { id, revision, attributes = attributes ?? new { } }, token, key, cancellationToken);

    public Task<HttpResponseMessage> UpdateAsync(
        string collection, string id, long revision, object? attributes = null, long token = 1, string? key = null,
        CancellationToken cancellationToken = default) =>
        MutateAsync(HttpMethod.Put, $"/v1/{collection}/{id}", new { revision, attributes = attributes ?? new { } }, token, key, cancellationToken);

    public Task<HttpResponseMessage> DeleteAsync(string collection, string id, long token = 1, string? key = null) =>
        MutateAsync(HttpMethod.Delete, $"/v1/{collection}/{id}", null, token, key);

    public Task<HttpResponseMessage> AttachAsync(
        string routerId, string portId, long revision, string subnetId, long token = 1, string? key = null) =>
        MutateAsync(
            HttpMethod.Put,
            $"/v1/routers/{routerId}/interfaces/{portId}",
            new { revision, attributes = new { SubnetId = subnetId, IpAddress = "10.0.0.1" } },
            token,
            key);

    public Task<HttpResponseMessage> DetachAsync(string routerId, string portId, long token = 1, string? key = null) =>
        MutateAsync(HttpMethod.Delete, $"/v1/routers/{routerId}/interfaces/{portId}", null, token, key);

    /// <summary>A mutating call with both required headers; a fresh Idempotency-Key unless one is given.</summary>
    public Task<HttpResponseMessage> MutateAsync(
        HttpMethod method, string path, object? body, long token, string? key, CancellationToken cancellationToken = default) =>
        SendAsync(
            method,
            path,
            body is null ? null : JsonSerializer.Serialize(body, Json),
            new Dictionary<string, string>
            {
                ["X-Fencing-Token"] = token.ToString(CultureInfo.InvariantCulture),
                ["Idempotency-Key"] = key ?? Guid.NewGuid().ToString(),
            },
            cancellationToken);

    public async Task<HttpResponseMessage> SendAsync(
        HttpMethod method, string path, string? rawBody, IReadOnlyDictionary<string, string> headers,
        CancellationToken cancellationToken = default)
    {
        using var request = new HttpRequestMessage(method, path);
        if (rawBody is not null)
        {
            request.Content = new StringContent(rawBody, Encoding.UTF8, "application/json");
        }

        foreach (var (name, value) in headers)
        {
            request.Headers.TryAddWithoutValidation(name, value);
        }

        return await http.SendAsync(request, cancellationToken);
    }

    public async Task<JsonElement> GetJsonAsync(string path)
    {
        using var response = await http.GetAsync(new Uri(path, UriKind.Relative));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return await response.Content.ReadFromJsonAsync<JsonElement>();
    }

    public async Task<HttpStatusCode> StatusOfGetAsync(string path)
    {
        using var response = await http.GetAsync(new Uri(path, UriKind.Relative));
        return response.StatusCode;
    }

    public async Task<Dictionary<string, long>> ViolationsAsync()
    {
        using var response = await http.GetAsync(new Uri("/_sim/violations", UriKind.Relative));
        return (await response.Content.ReadFromJsonAsync<Dictionary<string, long>>())!;
    }

    public async Task<JsonElement[]> CallsAsync(string resourceId) =>
        (await GetJsonAsync($"/_sim/calls?resource_id={Uri.EscapeDataString(resourceId)}")).GetProperty("items").EnumerateArray().ToArray();

    public async Task<int> InFlightAsync() => (await GetJsonAsync("/_sim/stats")).GetProperty("in_flight").GetInt32();

    public async Task<HttpResponseMessage> PutFaultsAsync(string rawJson) =>
        await http.PutAsync(new Uri("/_sim/faults", UriKind.Relative), new StringContent(rawJson, Encoding.UTF8, "application/json"));

    public async Task SetFaultsAsync(object patch)
    {
        using var response = await PutFaultsAsync(JsonSerializer.Serialize(patch, Json));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    /// <summary>The violations that are not zero; a clean run is an empty dictionary.</summary>
    public async Task<Dictionary<string, long>> NonZeroViolationsAsync() =>
        (await ViolationsAsync()).Where(pair => pair.Value != 0).ToDictionary();
}
