using OutboxSync.Simulator.Gateway;

namespace OutboxSync.Simulator.Idempotency;

/// <summary>
/// Final results by (resource id, Idempotency-Key), replayed for repeats. Bounded: the oldest entries are
/// forgotten first. Not thread-safe: used under the gateway lock.
/// </summary>
internal sealed class IdempotencyCache(int capacity)
{
    private readonly Dictionary<(string ResourceId, string Key), GatewayResult> results = [];
    private readonly Queue<(string ResourceId, string Key)> arrival = new();

    public int Count => results.Count;

    public bool TryGet(string resourceId, string key, out GatewayResult result) =>
        results.TryGetValue((resourceId, key), out result!);

    public void Store(string resourceId, string key, GatewayResult result)
    {
        if (!results.TryAdd((resourceId, key), result))
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
