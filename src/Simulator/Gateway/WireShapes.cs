using System.Text.Json;
using System.Text.Json.Serialization;

namespace OutboxSync.Simulator.Gateway;

// Response bodies of the /v1 API; the JSON options turn the property names into snake_case.

/// <summary>Wire shape of a network, subnet, port or router.</summary>
internal sealed record ObjectView(
    string Id,
    long Revision,
    JsonElement Attributes,
    DateTimeOffset CreatedAt,
    DateTimeOffset UpdatedAt);

/// <summary>Wire shape of a router interface; its resource id is the port id.</summary>
internal sealed record InterfaceView(
    string RouterId,
    string PortId,
    long Revision,
    JsonElement Attributes,
    DateTimeOffset CreatedAt,
    DateTimeOffset UpdatedAt);

/// <summary>One page of a listing; <see cref="NextMarker"/> is null on the last page.</summary>
internal sealed record Page<T>(IReadOnlyList<T> Items, string? NextMarker);

/// <summary>A complete, unpaged listing.</summary>
internal sealed record ItemList<T>(IReadOnlyList<T> Items);

/// <summary>Every error body: a stable machine-readable code plus optional detail.</summary>
internal sealed record ErrorBody(
    string Error,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Message = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] long? CurrentRevision = null);
