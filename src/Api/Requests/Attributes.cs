using System.Text.Json;
using System.Text.Json.Nodes;
using OutboxSync.Api.Errors;

namespace OutboxSync.Api.Requests;

/// <summary>
/// Typed, validated access to one resource object in a request. Every attribute a handler does not read is
/// reported as unrecognized by <see cref="RejectUnknown"/>, so typos never pass silently.
/// </summary>
public sealed class Attributes(JsonObject body, string kind, bool isCreate)
{
    private const int MaxName = 255;
    private const int MaxDescription = 255;
    private readonly HashSet<string> _known = new(StringComparer.Ordinal);

    public bool IsCreate { get; } = isCreate;

    public bool Has(string name)
    {
        _known.Add(name);
        return body.ContainsKey(name);
    }

    /// <summary>Attributes that exist but may not be written in this operation.</summary>
    public void ReadOnly(params string[] names)
    {
        foreach (var name in names)
        {
            if (body.ContainsKey(name))
            {
                throw NeutronException.BadRequest(
                    $"Attribute '{name}' not allowed in {(IsCreate ? "POST" : "PUT")}");
            }
        }
    }

    public void RejectUnknown()
    {
        var unknown = body.Select(p => p.Key).Where(k => !_known.Contains(k)).ToList();
        if (unknown.Count > 0)
        {
            throw NeutronException.BadRequest(
                $"Unrecognized attribute(s) '{RequestBody.Truncate(string.Join(", ", unknown), 200)}'");
        }
    }

    public string? String(string name, int maxLength = MaxName, bool nullable = false)
    {
        if (!Has(name))
        {
            return null;
        }
        var node = body[name];
        if (node is null)
        {
            return nullable ? null : throw Invalid(name, "'None' is not a valid string");
        }
        if (node.GetValueKind() != JsonValueKind.String)
        {
            throw Invalid(name, $"'{Show(node)}' is not a valid string");
        }
        var value = node.GetValue<string>();
        if (value.Length > maxLength)
        {
            throw Invalid(name, $"'{RequestBody.Truncate(value)}' exceeds maximum length of {maxLength}");
        }
        if (!IsStorableText(value))
        {
            throw Invalid(name, "must be valid UTF-8 text without NUL characters");
        }
        return value;
    }

    public string? Name() => String("name", MaxName);

    public string? Description() => String("description", MaxDescription);

    public bool? Bool(string name)
    {
        if (!Has(name))
        {
            return null;
        }
        var node = body[name];
        if (node is not null && node.GetValueKind() is JsonValueKind.True or JsonValueKind.False)
        {
            return node.GetValue<bool>();
        }
        // Neutron's converter also accepts the strings "true"/"false" (any case).
        if (node is not null && node.GetValueKind() == JsonValueKind.String && bool.TryParse(node.GetValue<string>(), out var parsed))
        {
            return parsed;
        }
        throw Invalid(name, $"'{Show(node)}' is not a valid boolean value");
    }

    public int? Int(string name, int min, int max)
    {
        if (!Has(name))
        {
            return null;
        }
        var node = body[name];
        int value;
        if (node is not null && node.GetValueKind() == JsonValueKind.Number && node.AsValue().TryGetValue(out int i))
        {
            value = i;
        }
        else if (node is not null && node.GetValueKind() == JsonValueKind.String && int.TryParse(node.GetValue<string>(), out var s))
        {
            value = s;
        }
        else
        {
            throw Invalid(name, $"'{Show(node)}' is not an integer");
        }
        if (value < min || value > max)
        {
            throw Invalid(name, $"'{value}' is not in range {min} through {max}");
        }
        return value;
    }

    public Guid? Uuid(string name, bool nullable = false)
    {
        if (!Has(name))
        {
            return null;
        }
        var node = body[name];
        if (node is null && nullable)
        {
            return null;
        }
        if (TryParseUuid(node, out var id))
        {
            return id;
        }
        throw Invalid(name, $"'{Show(node)}' is not a valid UUID");
    }

    /// <summary>
    /// A UUID in a body is a JSON string in the 8-4-4-4-12 hex form. Guid.TryParse alone would also take braces,
    /// parentheses, the 0x form and surrounding blanks, none of which Neutron's ids match.
    /// </summary>
    public static bool TryParseUuid(JsonNode? node, out Guid id)
    {
        id = Guid.Empty;
        return node is JsonValue value && value.GetValueKind() == JsonValueKind.String
            && value.GetValue<string>() is { Length: 36 } text && Guid.TryParseExact(text, "D", out id);
    }

    public JsonArray? Array(string name, int maxItems = 100)
    {
        if (!Has(name))
        {
            return null;
        }
        var node = body[name];
        if (node is not JsonArray array)
        {
            throw Invalid(name, $"'{Show(node)}' is not a list");
        }
        if (array.Count > maxItems)
        {
            throw Invalid(name, $"list exceeds maximum of {maxItems} items");
        }
        return array;
    }

    public JsonObject? Object(string name, bool nullable = true)
    {
        if (!Has(name))
        {
            return null;
        }
        var node = body[name];
        if (node is null && nullable)
        {
            return null;
        }
        return node as JsonObject ?? throw Invalid(name, $"'{Show(node)}' is not a dictionary");
    }

    public JsonNode? Raw(string name) => Has(name) ? body[name] : null;

    public List<string>? StringList(string name, int maxItems = 100, int maxLength = 255)
    {
        var array = Array(name, maxItems);
        if (array is null)
        {
            return null;
        }
        var result = new List<string>(array.Count);
        foreach (var item in array)
        {
            if (item is null || item.GetValueKind() != JsonValueKind.String)
            {
                throw Invalid(name, $"'{Show(item)}' is not a valid string");
            }
            var value = item.GetValue<string>();
            if (!IsStorableText(value))
            {
                throw Invalid(name, "must be valid UTF-8 text without NUL characters");
            }
            if (value.Length > maxLength)
            {
                throw Invalid(name, $"'{RequestBody.Truncate(value)}' exceeds maximum length of {maxLength}");
            }
            result.Add(value);
        }
        return result;
    }

    /// <summary>project_id / tenant_id: equal when both given; a non-admin may only name their own project.</summary>
    public string? ProjectId()
    {
        var project = String("project_id");
        var tenant = String("tenant_id");
        if (project is not null && tenant is not null && project != tenant)
        {
            throw NeutronException.BadRequest("'project_id' and 'tenant_id' do not match");
        }
        var value = project ?? tenant;
        if (value is not null && (value.Length == 0 || value.Length > 255))
        {
            throw Invalid("project_id", "must be 1 to 255 characters");
        }
        return value;
    }

    private static readonly System.Text.UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>PostgreSQL text holds neither NUL nor unpaired surrogates (e.g. a lone "\ud800" escape).</summary>
    public static bool IsStorableText(string value)
    {
        if (value.Contains('\0', StringComparison.Ordinal))
        {
            return false;
        }
        try
        {
            StrictUtf8.GetByteCount(value);
            return true;
        }
        catch (System.Text.EncoderFallbackException)
        {
            return false;
        }
    }

    public NeutronException Invalid(string name, string why) =>
        NeutronException.BadRequest($"Invalid input for {name}. Reason: {why}.");

    private static string Show(JsonNode? node) =>
        node is null ? "None" : RequestBody.Truncate(node.ToJsonString(), 64);

    public string Kind => kind;
}
