namespace OutboxSync.Leases;

/// <summary>
/// A lease this process holds on one resource. The database decides expiry; the holder keeps a stricter local
/// view: it trusts the lease only until (local monotonic time taken <i>before</i> sending the acquire or renew)
/// + duration − margin. The database's expiry is measured from a later instant, so the holder always stops
/// acting before anyone else can take the lease over, whatever the wall clocks say.
/// </summary>
public sealed class ResourceLease
{
    private readonly TimeProvider _time;
    private long _trustUntil;
    private int _lost;

    public ResourceLease(Guid resourceId, string holder, FencingToken token, TimeProvider time, long sentAtTimestamp, TimeSpan trustWindow)
    {
        ResourceId = resourceId;
        Holder = holder;
        Token = token;
        _time = time;
        _trustUntil = Deadline(sentAtTimestamp, trustWindow);
    }

    public Guid ResourceId { get; }
    public string Holder { get; }
    public FencingToken Token { get; }

    /// <summary>Holder of the expired lease row this acquisition replaced; null when the resource had no lease row
    /// (never leased, or released).</summary>
    public string? PreviousHolder { get; init; }

    /// <summary>Taken over from another replica whose lease expired without being released (it died or stalled).</summary>
    public bool IsTakeover => PreviousHolder is not null && PreviousHolder != Holder;

    /// <summary>False once the trust window passed or a renewal found the lease gone.</summary>
    public bool IsTrusted => Volatile.Read(ref _lost) == 0 && _time.GetTimestamp() < Volatile.Read(ref _trustUntil);

    public bool IsLost => Volatile.Read(ref _lost) != 0;

    /// <summary>Time left before the holder must stop acting (zero when untrusted).</summary>
    public TimeSpan TrustRemaining
    {
        get
        {
            if (IsLost)
            {
                return TimeSpan.Zero;
            }
            var remaining = _time.GetElapsedTime(_time.GetTimestamp(), Volatile.Read(ref _trustUntil));
            return remaining > TimeSpan.Zero ? remaining : TimeSpan.Zero;
        }
    }

    /// <summary>Records a successful renewal whose request was sent at <paramref name="sentAtTimestamp"/>.</summary>
    public void Extend(long sentAtTimestamp, TimeSpan trustWindow)
    {
        var next = Deadline(sentAtTimestamp, trustWindow);
        long current;
        do
        {
            current = Volatile.Read(ref _trustUntil);
            if (next <= current)
            {
                return;
            }
        }
        while (Interlocked.CompareExchange(ref _trustUntil, next, current) != current);
    }

    /// <summary>The database no longer shows our token: stop acting at once.</summary>
    public void MarkLost() => Interlocked.Exchange(ref _lost, 1);

    public override string ToString() => $"{ResourceId} token {Token}";

    private long Deadline(long sentAtTimestamp, TimeSpan trustWindow) =>
        sentAtTimestamp + (long)(trustWindow.TotalSeconds * _time.TimestampFrequency);
}
