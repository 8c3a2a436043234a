using System.Text.Json;

namespace OutboxSync.Simulator.Gateway;

/// <summary>
/// One inventory entry, immutable so it can be handed out after the gateway lock is released.
/// <see cref="AppliedKey"/> is the Idempotency-Key that applied the current revision (null when the object
/// was placed behind the system's back), used to tell a duplicate apply from a replay.
/// </summary>
internal sealed record StoredObject(
    string Id,
    long Revision,
    JsonElement Attributes,
    DateTimeOffset CreatedAt,
    DateTimeOffset UpdatedAt,
    string? AppliedKey,
    IReadOnlyList<ResourceRef> Parents,
    string? RouterId = null)
{
    public ObjectView ToView() => new(Id, Revision, Attributes, CreatedAt, UpdatedAt);

    public InterfaceView ToInterfaceView() => new(RouterId!, Id, Revision, Attributes, CreatedAt, UpdatedAt);
}
