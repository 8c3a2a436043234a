namespace OutboxSync.Simulator.Fencing;

/// <summary>
/// Highest fencing token accepted per resource id. A lower token means a deposed writer is still talking
/// to the device. Not thread-safe: used under the gateway lock.
/// </summary>
internal sealed class FencingTokens
{
    private readonly Dictionary<string, long> highest = new(StringComparer.Ordinal);

    /// <summary>Accepts a token at least as high as any seen for the resource and remembers it.</summary>
    public bool TryAccept(string resourceId, long token)
    {
        if (highest.TryGetValue(resourceId, out var max) && token < max)
        {
            return false;
        }

        highest[resourceId] = token;
        return true;
    }

    public long? HighestFor(string resourceId) => highest.TryGetValue(resourceId, out var max) ? max : null;

    public void Clear() => highest.Clear();
}
