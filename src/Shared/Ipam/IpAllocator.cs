using System.Net;

namespace OutboxSync.Ipam;

/// <summary>
/// Picks the lowest free address of a subnet's pools. Callers serialise per subnet (row lock in the accept
/// transaction) and the (subnet_id, ip_address) primary key is the final guard against a duplicate.
/// </summary>
public static class IpAllocator
{
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
