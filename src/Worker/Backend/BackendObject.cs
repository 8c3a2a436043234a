using System.Text.Json.Nodes;

namespace OutboxSync.Worker.Backend;

/// <summary>One object in a back-end listing: its id, stored revision, the parents its attributes name, and the attributes.
/// A router interface is identified by its port id and names its router in <paramref name="RouterId"/>.</summary>
public sealed record BackendObject(Guid Id, long Revision, IReadOnlyList<Guid> Parents, JsonObject? Attributes = null, Guid? RouterId = null);
