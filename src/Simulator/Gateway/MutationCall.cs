using System.Text.Json;

namespace OutboxSync.Simulator.Gateway;

/// <summary>
/// A validated mutating call. <see cref="ResourceId"/> is what fencing, overlap and idempotency key on:
/// the object id, or the port id for router interface calls. <see cref="Revision"/> is 0 for deletes,
/// which carry none. <see cref="Deadline"/> is the caller's <c>X-Request-Deadline</c>, if it sent one: nothing is
/// applied at or after it.
/// </summary>
internal sealed record MutationCall(
    string ResourceId,
    string? RouterId,
    long Revision,
    JsonElement Attributes,
    IReadOnlyList<ResourceRef> Parents,
    long FencingToken,
    string IdempotencyKey,
    DateTimeOffset? Deadline = null);
