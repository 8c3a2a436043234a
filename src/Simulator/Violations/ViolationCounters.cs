namespace OutboxSync.Simulator.Violations;

/// <summary>
/// Counts of behaviour a correct client never causes. Tests and benchmarks read them through
/// <c>GET /_sim/violations</c>; every counter is always reported, zero when clean.
/// </summary>
internal sealed class ViolationCounters
{
    private long overlap;
    private long outOfOrder;
    private long staleToken;
    private long duplicateApply;
    private long childBeforeParent;
    private long parentDeletedBeforeChild;
    private long keyReuse;
    private long addressReuse;

    public void CountOverlap() => Interlocked.Increment(ref overlap);

    public void CountOutOfOrder() => Interlocked.Increment(ref outOfOrder);

    public void CountStaleToken() => Interlocked.Increment(ref staleToken);

    public void CountDuplicateApply() => Interlocked.Increment(ref duplicateApply);

    public void CountChildBeforeParent() => Interlocked.Increment(ref childBeforeParent);

    public void CountParentDeletedBeforeChild() => Interlocked.Increment(ref parentDeletedBeforeChild);

    public void CountKeyReuse() => Interlocked.Increment(ref keyReuse);

    public void CountAddressReuse() => Interlocked.Increment(ref addressReuse);

    public Dictionary<string, long> Snapshot() => new(StringComparer.Ordinal)
    {
        ["overlap"] = Interlocked.Read(ref overlap),
        ["out_of_order"] = Interlocked.Read(ref outOfOrder),
        ["stale_token"] = Interlocked.Read(ref staleToken),
        ["duplicate_apply"] = Interlocked.Read(ref duplicateApply),
        ["child_before_parent"] = Interlocked.Read(ref childBeforeParent),
        ["parent_deleted_before_child"] = Interlocked.Read(ref parentDeletedBeforeChild),
        ["key_reuse"] = Interlocked.Read(ref keyReuse),
        ["address_reuse"] = Interlocked.Read(ref addressReuse),
    };

    public void Reset()
    {
        Interlocked.Exchange(ref overlap, 0);
        Interlocked.Exchange(ref outOfOrder, 0);
        Interlocked.Exchange(ref staleToken, 0);
        Interlocked.Exchange(ref duplicateApply, 0);
        Interlocked.Exchange(ref childBeforeParent, 0);
        Interlocked.Exchange(ref parentDeletedBeforeChild, 0);
        Interlocked.Exchange(ref keyReuse, 0);
        Interlocked.Exchange(ref addressReuse, 0);
    }
}
