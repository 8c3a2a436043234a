using System.Text.Json;
using OutboxSync.Simulator.Gateway;

namespace OutboxSync.Simulator.Idempotency;

/// <summary>
/// What a repeat of an Idempotency-Key must match to count as a repeat: the method, the path, and the body's revision
/// and attributes, compared as JSON values (formatting and key order do not matter).
/// </summary>
internal sealed record CallSignature(string Method, string Path, long? Revision, JsonElement Attributes)
{
    public static CallSignature Of(MutationRequest request, MutationCall call) =>
        new(request.Method, request.Path, request.Revision, call.Attributes.Clone());

    public bool IsSameCallAs(CallSignature first) =>
        string.Equals(Method, first.Method, StringComparison.Ordinal)
        && string.Equals(Path, first.Path, StringComparison.Ordinal)
        && Revision == first.Revision
        && JsonElement.DeepEquals(Attributes, first.Attributes);

    public override string ToString() => $"{Method} {Path}";
}
