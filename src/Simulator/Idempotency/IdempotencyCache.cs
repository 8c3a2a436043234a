using OutboxSync.Simulator.Gateway;

namespace OutboxSync.Simulator.Idempotency;

/// <summary>
/// Final results by (resource id, Idempotency-Key), replayed for repeats. Bounded: the oldest entries are
/// forgotten first. Not thread-safe: used under the gateway lock.
/// </summary>
internal sealed class IdempotencyCache(int capacity)
{
    private readonly Dictionary<(string ResourceId, string Key), (GatewayResult Result, CallSignature Call)> results = [];
    private readonly Queue<(string ResourceId, string Key)> arrival = new();

    public int Count => results.Count;

    /// <param name="first">The call that produced <paramref name="result"/>, to tell a repeat from a reuse of the key.</param>
    public bool TryGet(string resourceId, string key, out GatewayResult result, out CallSignature first)
    {
        var found = results.TryGetValue((resourceId, key), out var cached);
        (result, first) = (cached.Result, cached.Call);
        return found;
    }

    public void Store(string resourceId, string key, GatewayResult result, CallSignature call)
    {
        if (!results.TryAdd((resourceId, key), (result, call)))
        {
            return;
        }

        arrival.Enqueue((resourceId, key));
        while (arrival.Count > capacity)
        {
            results.Remove(arrival.Dequeue());
        }
    }

    public void Clear()
    {
        results.Clear();
        arrival.Clear();
    }
}
