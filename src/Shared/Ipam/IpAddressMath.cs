using System.Net;
using System.Net.Sockets;

namespace OutboxSync.Ipam;

/// <summary>IPv4 and IPv6 addresses as 128-bit integers, so ranges and pools use one arithmetic.</summary>
public static class IpAddressMath
{
    public static UInt128 ToNumber(IPAddress address)
    {
        var bytes = address.GetAddressBytes();
        UInt128 value = 0;
        foreach (var b in bytes)
        {
            value = (value << 8) | b;
        }
        return value;
    }

    public static IPAddress FromNumber(UInt128 value, AddressFamily family)
    {
        var length = family == AddressFamily.InterNetwork ? 4 : 16;
        var bytes = new byte[length];
        for (var i = length - 1; i >= 0; i--)
        {
            bytes[i] = (byte)(value & 0xFF);
            value >>= 8;
        }
        return new IPAddress(bytes);
    }

    public static int Version(IPAddress address) => address.AddressFamily == AddressFamily.InterNetwork ? 4 : 6;

    /// <summary>Parses a literal address (no scope id, no IPv4-in-IPv6 tricks accepted as v4).</summary>
    public static bool TryParse(string? text, out IPAddress address)
    {
        address = IPAddress.None;
        if (string.IsNullOrEmpty(text) || text.Length > 45 || text.Contains('%', StringComparison.Ordinal))
        {
            return false;
        }
        if (!IPAddress.TryParse(text, out var parsed))
        {
            return false;
        }
        // IPAddress.TryParse also accepts "1", "1.2", hex ("0x0a.0.0.1") and octal forms; Neutron wants plain
        // dotted-decimal quads, so only a text that round-trips unchanged is an IPv4 address here.
        if (parsed.AddressFamily == AddressFamily.InterNetwork && parsed.ToString() != text)
        {
            return false;
        }
        if (parsed.AddressFamily == AddressFamily.InterNetworkV6 && !text.Contains(':', StringComparison.Ordinal))
        {
            return false;
        }
        address = parsed;
        return true;
    }

    public static string Canonical(IPAddress address) => address.ToString();
}
