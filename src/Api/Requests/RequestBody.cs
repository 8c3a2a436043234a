using System.Text.Json;
using System.Text.Json.Nodes;
using OutboxSync.Api.Errors;

namespace OutboxSync.Api.Requests;

/// <summary>Reads and checks a JSON request body: content type, size, well-formedness, no duplicate keys.</summary>
public static class RequestBody
{
    private static readonly JsonDocumentOptions DocumentOptions = new()
    {
        MaxDepth = 32,
        AllowDuplicateProperties = false,
    };

    public static async Task<JsonObject> ReadObjectAsync(HttpRequest request, CancellationToken ct)
    {
        // Neutron reads a body without a Content-Type as JSON (clients such as curl scripts omit it); only a
        // declared other type is refused.
        // The media type itself must be application/json (parameters such as charset allowed): a prefix match took
        // application/jsonx or application/json-seq for JSON.
        var contentType = request.ContentType;
        if (!string.IsNullOrEmpty(contentType)
            && !(Microsoft.Net.Http.Headers.MediaTypeHeaderValue.TryParse(contentType, out var mediaType)
                 && mediaType.MediaType.Equals("application/json", StringComparison.OrdinalIgnoreCase)))
        {
            throw new NeutronException(415, "HTTPUnsupportedMediaType",
                $"Unsupported Content-Type '{Truncate(contentType)}'; use application/json.");
        }
        // Read whole (the body size limit bounds it) so invalid UTF-8 is refused here, not deep inside a later read.
        using var buffer = new MemoryStream();
        await request.Body.CopyToAsync(buffer, ct);
        if (!System.Text.Unicode.Utf8.IsValid(buffer.GetBuffer().AsSpan(0, (int)buffer.Length)))
        {
            throw NeutronException.BadRequest("Malformed request body: not valid UTF-8.");
        }
        JsonNode? node;
        try
        {
            node = JsonNode.Parse(buffer.GetBuffer().AsSpan(0, (int)buffer.Length), documentOptions: DocumentOptions);
        }
        catch (JsonException)
        {
            throw NeutronException.BadRequest("Malformed request body.");
        }
        catch (ArgumentException)
        {
            throw NeutronException.BadRequest("Malformed request body: duplicate keys.");
        }
        return node as JsonObject ?? throw NeutronException.BadRequest("Malformed request body: a JSON object is required.");
    }

    /// <summary>
    /// The resource objects inside <c>{"network": {...}}</c> or, for bulk create, <c>{"networks": [...]}</c>.
    /// </summary>
    public static (IReadOnlyList<JsonObject> Items, bool Bulk) Envelope(JsonObject body, string singular, string plural, bool allowBulk)
    {
        if (body.Count != 1)
        {
            throw NeutronException.BadRequest($"Resource body required: expected exactly one key '{singular}'{(allowBulk ? $" or '{plural}'" : "")}.");
        }
        if (body[singular] is { } single)
        {
            return single is JsonObject o
                ? ([o], false)
                : throw NeutronException.BadRequest($"'{singular}' must be an object.");
        }
        if (allowBulk && body[plural] is { } many)
        {
            if (many is not JsonArray array || array.Count == 0 || array.Any(i => i is not JsonObject))
            {
                throw NeutronException.BadRequest($"'{plural}' must be a non-empty list of objects.");
            }
            if (array.Count > 1000)
            {
                throw NeutronException.BadRequest($"Bulk create is limited to 1000 '{plural}'.");
            }
            return (array.Cast<JsonObject>().ToList(), true);
        }
        throw NeutronException.BadRequest($"Resource body required: expected key '{singular}'.");
    }

    public static string Truncate(string value, int max = 64) =>
        value.Length <= max ? value : value[..max] + "…";
}
