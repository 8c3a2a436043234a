namespace OutboxSync.Ipam;

/// <summary>
/// A subnet pool's arithmetic (Neutron's <c>subnet_allocation</c>): its prefixes compacted, and subnets cut from
/// what its subnets do not already hold. The caller holds the pool's row lock, so the allocated set is stable.
/// </summary>
public static class SubnetPrefixes
{
    /// <summary>The same address space as the fewest CIDRs: prefixes inside others dropped, halves merged.</summary>
    public static List<SubnetCidr> Compact(IEnumerable<SubnetCidr> cidrs)
    {
        var kept = new List<SubnetCidr>();
        // By start, larger blocks first: a block inside an earlier one is inside the last one kept (kept are disjoint).
        foreach (var cidr in cidrs.OrderBy(c => c.Range.First).ThenBy(c => c.Prefix))
        {
            if (kept.Count == 0 || !kept[^1].Covers(cidr))
            {
                kept.Add(cidr);
            }
        }
        for (var merged = true; merged;)
        {
            merged = false;
            for (var i = 0; i + 1 < kept.Count; i++)
            {
                var (a, b) = (kept[i], kept[i + 1]);
                if (a.Prefix == b.Prefix && a.Prefix > 0 && b.Range.First == a.Range.Last + 1 && Aligned(a.Range.First, a.Prefix - 1, a.Version))
                {
                    kept[i] = SubnetCidr.Of(a.Range.First, a.Prefix - 1, a.Network.AddressFamily);
                    kept.RemoveAt(i + 1);
                    merged = true;
                }
            }
        }
        return kept;
    }

    /// <summary>
    /// Neutron's "any subnet" request: a block of <paramref name="prefixLength"/> from the smallest free block that
    /// holds one (the least fragmenting choice), at its start; null when no free block is large enough.
    /// </summary>
    public static SubnetCidr? Allocate(IReadOnlyList<SubnetCidr> prefixes, IEnumerable<SubnetCidr> allocated, int prefixLength)
    {
        var taken = allocated.Select(a => a.Range).ToList();
        var free = prefixes.SelectMany(p => Free(p, taken))
            .Where(f => f.Prefix <= prefixLength)
            .OrderByDescending(f => f.Prefix).ThenBy(f => f.Range.First)
            .FirstOrDefault();
        return free is null ? null : SubnetCidr.Of(free.Range.First, prefixLength, free.Network.AddressFamily);
    }

    /// <summary>Neutron's "specific subnet" request: inside one of the prefixes and overlapping no allocation.</summary>
    public static bool IsFree(IReadOnlyList<SubnetCidr> prefixes, IEnumerable<SubnetCidr> allocated, SubnetCidr requested) =>
        prefixes.Any(p => p.Covers(requested)) && !allocated.Any(a => a.Range.Overlaps(requested.Range));

    /// <summary>The largest aligned blocks of <paramref name="block"/> that no allocation touches.</summary>
    private static IEnumerable<SubnetCidr> Free(SubnetCidr block, List<IpRange> taken)
    {
        var overlapping = taken.Where(t => t.Overlaps(block.Range)).ToList();
        if (overlapping.Count == 0)
        {
            yield return block;
            yield break;
        }
        if (overlapping.Any(t => t.First <= block.Range.First && block.Range.Last <= t.Last))
        {
            yield break;
        }
        // Partly taken, so at least two addresses wide: split in halves.
        var half = block.Prefix + 1;
        var family = block.Network.AddressFamily;
        var low = SubnetCidr.Of(block.Range.First, half, family);
        var high = SubnetCidr.Of(low.Range.Last + 1, half, family);
        foreach (var free in Free(low, overlapping).Concat(Free(high, overlapping)))
        {
            yield return free;
        }
    }

    private static bool Aligned(UInt128 first, int prefix, int version)
    {
        var bits = version == 4 ? 32 : 128;
        var hostMask = prefix == 0 ? (version == 4 ? (UInt128)uint.MaxValue : UInt128.MaxValue) : (((UInt128)1 << (bits - prefix)) - 1);
        return (first & hostMask) == 0;
    }
}
