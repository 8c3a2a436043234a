namespace OutboxSync.Simulator.Violations;

/// <summary>
/// Mutating calls currently in flight per resource id. Starting a call on a resource that already has one
/// in flight counts an overlap: the client failed to serialize its writes to that resource.
/// </summary>
internal sealed class InFlightTracker(ViolationCounters violations)
{
    private readonly Lock gate = new();
    private readonly Dictionary<string, int> active = new(StringComparer.Ordinal);
    private int total;

    public int Count
    {
        get
        {
            lock (gate)
            {
                return total;
            }
        }
    }

    /// <summary>
    /// Marks a call in flight until the lease is disposed or <paramref name="ends"/> fires (the client disconnected or
    /// its deadline passed), whichever is first: an abandoned call that the server is still winding down no longer
    /// counts as the client's write.
    /// </summary>
    public Lease Enter(string resourceId, CancellationToken ends)
    {
        lock (gate)
        {
            var running = active.GetValueOrDefault(resourceId);
            if (running > 0)
            {
                violations.CountOverlap();
            }

            active[resourceId] = running + 1;
            total++;
        }

        var lease = new Lease(this, resourceId);
        lease.EndOn(ends);
        return lease;
    }

    private void Leave(string resourceId)
    {
        lock (gate)
        {
            var remaining = active[resourceId] - 1;
            if (remaining > 0)
            {
                active[resourceId] = remaining;
            }
            else
            {
                active.Remove(resourceId);
            }

            total--;
        }
    }

    public sealed class Lease : IDisposable
    {
        private readonly InFlightTracker owner;
        private readonly string resourceId;
        private CancellationTokenRegistration abortRegistration;
        private int ended;

        internal Lease(InFlightTracker owner, string resourceId)
        {
            this.owner = owner;
            this.resourceId = resourceId;
        }

        public void Dispose()
        {
            if (Interlocked.Exchange(ref ended, 1) == 0)
            {
                owner.Leave(resourceId);
            }

            // Unregister rather than Dispose: this may run inside the cancellation callback itself.
            abortRegistration.Unregister();
        }

        internal void EndOn(CancellationToken ends) =>
            abortRegistration = ends.Register(static state => ((Lease)state!).Dispose(), this);
    }
}
