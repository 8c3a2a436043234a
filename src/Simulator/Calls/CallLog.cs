using Microsoft.Extensions.Options;

namespace OutboxSync.Simulator.Calls;

/// <summary>Bounded log of finished mutating calls; the oldest are dropped first.</summary>
internal sealed class CallLog(IOptions<SimulatorOptions> options)
{
    private readonly int capacity = options.Value.CallLogCapacity;
    private readonly Lock gate = new();
    private readonly Queue<CallRecord> records = new();
    private long lastSequence;

    public long NextSequence() => Interlocked.Increment(ref lastSequence);

    public void Append(CallRecord record)
    {
        lock (gate)
        {
            records.Enqueue(record);
            while (records.Count > capacity)
            {
                records.Dequeue();
            }
        }
    }

    /// <summary>Calls on one resource (or all, when null), in arrival order.</summary>
    public List<CallRecord> For(string? resourceId)
    {
        List<CallRecord> matching;
        lock (gate)
        {
            matching = resourceId is null
                ? [.. records]
                : records.Where(record => string.Equals(record.ResourceId, resourceId, StringComparison.Ordinal)).ToList();
        }

        // Appended on completion; calls that overlapped may have finished out of arrival order.
        matching.Sort((left, right) => left.Sequence.CompareTo(right.Sequence));
        return matching;
    }

    public void Clear()
    {
        lock (gate)
        {
            records.Clear();
        }
    }
}
