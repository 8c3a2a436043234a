using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;

namespace OutboxSync.Api.Tests.Infrastructure;

/// <summary>An HTTP client that sends X-Auth-Token (when given) and JSON bodies.</summary>
public sealed class ApiClient(HttpClient http, string? token)
{
    public HttpClient Http => http;

    public Task<ApiResponse> GetAsync(string path) => SendAsync(HttpMethod.Get, path, null);

    public Task<ApiResponse> PostAsync(string path, object body) => SendAsync(HttpMethod.Post, path, body);

    public Task<ApiResponse> PutAsync(string path, object? body = null, string? ifMatch = null) =>
        SendAsync(HttpMethod.Put, path, body, ifMatch);

    public Task<ApiResponse> DeleteAsync(string path, string? ifMatch = null) => SendAsync(HttpMethod.Delete, path, null, ifMatch);

    public async Task<ApiResponse> SendAsync(HttpMethod method, string path, object? body, string? ifMatch = null,
        string contentType = "application/json")
    {
        using var request = new HttpRequestMessage(method, path);
        if (body is not null)
        {
            var text = body switch
            {
                string s => s,
                JsonNode n => n.ToJsonString(),
                _ => JsonSerializer.Serialize(body),
            };
            request.Content = new StringContent(text, Encoding.UTF8);
            request.Content.Headers.ContentType = MediaTypeHeaderValue.Parse(contentType);
        }
        return await SendAsync(request, ifMatch);
    }

    public async Task<ApiResponse> SendAsync(HttpRequestMessage request, string? ifMatch = null)
    {
        if (token is not null)
        {
            request.Headers.TryAddWithoutValidation("X-Auth-Token", token);
        }
        if (ifMatch is not null)
        {
            request.Headers.TryAddWithoutValidation("If-Match", ifMatch);
        }
        using var response = await http.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        JsonNode? json = null;
        if (text.Length > 0)
        {
            try
            {
                json = JsonNode.Parse(text);
            }
            catch (JsonException)
            {
                json = null;
            }
        }
        return new ApiResponse(response.StatusCode, json, text, response.Headers.Location,
            response.Content.Headers.ContentType?.MediaType, $"{request.Method} {request.RequestUri}");
    }
}

public sealed record ApiResponse(HttpStatusCode Status, JsonNode? Body, string Text, Uri? Location, string? ContentType, string Request)
{
    public JsonObject Json => Body as JsonObject ?? throw new Xunit.Sdk.XunitException($"{Request}: expected a JSON object, got {Status} '{Text}'");

    /// <summary>Asserts the status and returns this response; the message carries the body for diagnosis.</summary>
    public ApiResponse Expect(HttpStatusCode expected)
    {
        Assert.True(Status == expected, $"{Request}: expected {(int)expected} {expected} but got {(int)Status} {Status}: {Text}");
        return this;
    }

    public ApiResponse ExpectOneOf(params HttpStatusCode[] expected)
    {
        Assert.True(expected.Contains(Status), $"{Request}: expected one of {string.Join(", ", expected.Select(e => (int)e))} but got {(int)Status}: {Text}");
        return this;
    }

    /// <summary>Asserts Neutron's error shape <c>{"NeutronError": {"type","message","detail"}}</c> with this status.</summary>
    public JsonObject ExpectNeutronError(HttpStatusCode expected, string? type = null)
    {
        Expect(expected);
        var error = Json["NeutronError"] as JsonObject;
        Assert.True(error is not null, $"{Request}: no NeutronError object in '{Text}'");
        Assert.True(error!["type"] is JsonValue, $"{Request}: NeutronError.type missing in '{Text}'");
        Assert.True(error["message"] is JsonValue, $"{Request}: NeutronError.message missing in '{Text}'");
        Assert.True(error.ContainsKey("detail"), $"{Request}: NeutronError.detail missing in '{Text}'");
        Assert.False(string.IsNullOrWhiteSpace(error["type"]!.GetValue<string>()), "NeutronError.type is empty");
        Assert.False(string.IsNullOrWhiteSpace(error["message"]!.GetValue<string>()), "NeutronError.message is empty");
        if (type is not null)
        {
            Assert.Equal(type, error["type"]!.GetValue<string>());
        }
        return error;
    }

    public JsonObject Item(string key) => Json[key] as JsonObject
        ?? throw new Xunit.Sdk.XunitException($"{Request}: no '{key}' object in '{Text}'");

    public JsonArray Items(string key) => Json[key] as JsonArray
        ?? throw new Xunit.Sdk.XunitException($"{Request}: no '{key}' list in '{Text}'");
}
