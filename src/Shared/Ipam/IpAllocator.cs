using System.Net;

namespace OutboxSync.Ipam;

/// <summary>
/// Picks free addresses from a subnet's pools. The (subnet_id, ip_address) primary key is the guard against a
/// duplicate; picking among several free candidates keeps concurrent creates from colliding on the same one.
/// </summary>
public static class IpAllocator
{
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
