using System.Net;

namespace OutboxSync.Ipam;

/// <summary>
/// The arithmetic of picking free addresses from a subnet's pools. Large pools are sampled at random (the caller
/// asks the database which samples are free), so an allocation costs the same in an empty subnet and in one with
/// tens of thousands of ports, and concurrent creates rarely pick the same address. Small or nearly full pools are
/// searched exactly over the allocated set. The (subnet_id, ip_address) primary key stays the guard against a
/// duplicate either way.
/// </summary>
public static class IpAllocator
{
    /// <summary>Pools with at most this many addresses are searched exactly: loading their allocations is cheap,
    /// and sampling a small pool that is nearly full would miss its last free addresses.</summary>
    public const int ExactSearchLimit = 256;

    /// <summary>Number of addresses in all pools together.</summary>
    public static UInt128 Size(IReadOnlyList<IpRange> pools)
    {
        UInt128 size = 0;
        foreach (var pool in pools)
        {
            size += pool.Last - pool.First + 1;
        }
        return size;
    }

    /// <summary>
    /// Up to <paramref name="count"/> distinct addresses drawn uniformly from the pools, never the gateway nor one
    /// in <paramref name="excluded"/>. Whether they are free is for the caller to ask.
    /// </summary>
    public static List<IPAddress> Sample(IReadOnlyList<IpRange> pools, UInt128? gateway, IReadOnlySet<UInt128> excluded, int count, Random random)
    {
        var size = Size(pools);
        var picked = new HashSet<UInt128>();
        var result = new List<IPAddress>(count);
        if (size == 0)
        {
            return result;
        }
        Span<byte> bytes = stackalloc byte[16];
        // Bounded draws: in a pool of a few addresses most draws repeat, and the caller falls back to the exact search.
        for (var draw = 0; draw < count * 4 && result.Count < count; draw++)
        {
            random.NextBytes(bytes);
            var offset = new UInt128(BitConverter.ToUInt64(bytes[..8]), BitConverter.ToUInt64(bytes[8..])) % size;
            foreach (var pool in pools)
            {
                var poolSize = pool.Last - pool.First + 1;
                if (offset >= poolSize)
                {
                    offset -= poolSize;
                    continue;
                }
                var candidate = pool.First + offset;
                if (candidate != gateway && !excluded.Contains(candidate) && picked.Add(candidate))
                {
                    result.Add(IpAddressMath.FromNumber(candidate, pool.Family));
                }
                break;
            }
        }
        return result;
    }

    /// <summary>A random address among the <paramref name="spread"/> lowest free ones, or null when none is free.</summary>
    public static IPAddress? PickFree(IReadOnlyList<IpRange> pools, IReadOnlySet<UInt128> allocated, UInt128? gateway, int spread)
    {
        var candidates = new List<IPAddress>(spread);
        var taken = new HashSet<UInt128>(allocated);
        while (candidates.Count < spread && NextFree(pools, taken, gateway) is { } free)
        {
            candidates.Add(free);
            taken.Add(IpAddressMath.ToNumber(free));
        }
        return candidates.Count == 0 ? null : candidates[Random.Shared.Next(candidates.Count)];
    }

    public static IPAddress? NextFree(IReadOnlyList<IpRange> pools, IReadOnlySet<UInt128> allocated, UInt128? gateway)
    {
        foreach (var pool in pools)
        {
            // At most allocated.Count + 2 probes per pool: the rest of the pool is free by counting.
            var candidate = pool.First;
            while (true)
            {
                if (!allocated.Contains(candidate) && candidate != gateway)
                {
                    return IpAddressMath.FromNumber(candidate, pool.Family);
                }
                if (candidate == pool.Last)
                {
                    break;
                }
                candidate++;
            }
        }
        return null;
    }
}
