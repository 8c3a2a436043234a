using System.Text.Json;

namespace OutboxSync.Simulator;

/// <summary>Reads request bodies by hand so malformed JSON gets the API's own 400 body, not a binding failure.</summary>
internal static class JsonBody
{
    public static readonly JsonElement EmptyObject = JsonSerializer.Deserialize<JsonElement>("{}");

    /// <summary>The body as a JSON object, or a message saying why it is not one.</summary>
    public static async Task<(JsonElement? Body, string? Problem)> ReadObjectAsync(HttpContext context)
    {
        JsonElement root;
        try
        {
            root = await JsonSerializer.DeserializeAsync<JsonElement>(context.Request.Body, cancellationToken: context.RequestAborted);
        }
        catch (JsonException)
        {
            return (null, "the body must be a JSON object");
        }

        return root.ValueKind == JsonValueKind.Object ? (root, null) : (null, "the body must be a JSON object");
    }
}
