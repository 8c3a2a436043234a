using System.Net;
using System.Text.Json;

namespace OutboxSync.Simulator.Tests.Support;

/// <summary>Status-and-error-code checks that print the body when they fail.</summary>
internal static class ResponseAssertions
{
    public static async Task<JsonElement> ExpectAsync(this Task<HttpResponseMessage> pending, HttpStatusCode status) =>
        await (await pending).ExpectAsync(status);

    public static async Task<JsonElement> ExpectAsync(this HttpResponseMessage response, HttpStatusCode status)
    {
        using (response)
        {
            var text = await response.Content.ReadAsStringAsync();
            Assert.True(status == response.StatusCode, $"Expected {(int)status}, got {(int)response.StatusCode}: {text}");
            return text.Length == 0 ? default : JsonSerializer.Deserialize<JsonElement>(text);
        }
    }

    public static async Task ExpectErrorAsync(this Task<HttpResponseMessage> pending, HttpStatusCode status, string error)
    {
        var body = await pending.ExpectAsync(status);
        Assert.Equal(error, body.GetProperty("error").GetString());
    }
}
