using System.Net;
using System.Net.Sockets;

namespace OutboxSync.Ipam;

/// <summary>The modified EUI-64 address (RFC 4291 appendix A) a host with a MAC configures in a /64 prefix.</summary>
public static class Eui64
{
    /// <param name="prefix">An IPv6 /64 (the subnet's network address).</param>
    /// <param name="mac">A MAC in any form <see cref="MacAddress.TryNormalize"/> accepts.</param>
    public static IPAddress Address(IPAddress prefix, string mac)
    {
        if (prefix.AddressFamily != AddressFamily.InterNetworkV6)
        {
            throw new ArgumentException("EUI-64 addresses are IPv6.", nameof(prefix));
        }
        if (!MacAddress.TryNormalize(mac, out var normalized))
        {
            throw new ArgumentException($"'{mac}' is not a MAC address.", nameof(mac));
        }
        var m = normalized.Split(':').Select(h => Convert.ToByte(h, 16)).ToArray();
        var bytes = prefix.GetAddressBytes();
        // The interface identifier: the MAC split by ff:fe, with the universal/local bit inverted.
        byte[] id = [(byte)(m[0] ^ 0x02), m[1], m[2], 0xff, 0xfe, m[3], m[4], m[5]];
        id.CopyTo(bytes, 8);
        return new IPAddress(bytes);
    }
}
