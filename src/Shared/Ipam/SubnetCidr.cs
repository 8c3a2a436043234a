using System.Net;
using System.Net.Sockets;

namespace OutboxSync.Ipam;

/// <summary>A subnet's CIDR, validated as Neutron does: canonical network address, family matching ip_version.</summary>
public sealed class SubnetCidr
{
    private SubnetCidr(IPAddress network, int prefix)
    {
        Network = network;
        Prefix = prefix;
        var bits = Bits;
        var first = IpAddressMath.ToNumber(network);
        // ::/0 spans every address: 1 << 128 does not exist in 128 bits.
        var hostMask = bits - prefix == 128 ? UInt128.MaxValue : ((UInt128)1 << (bits - prefix)) - 1;
        Range = new IpRange(first, first + hostMask, network.AddressFamily);
    }

    public IPAddress Network { get; }
    public int Prefix { get; }
    public IpRange Range { get; }
    public int Version => Network.AddressFamily == AddressFamily.InterNetwork ? 4 : 6;
    private int Bits => Version == 4 ? 32 : 128;

    public override string ToString() => $"{Network}/{Prefix}";

    /// <summary>Parses "a.b.c.d/n" or "x::/n"; the error names what is wrong.</summary>
    public static bool TryParse(string? text, out SubnetCidr cidr, out string error)
    {
        cidr = null!;
        error = $"'{text}' is not a valid IP subnet";
        if (string.IsNullOrEmpty(text) || text.Length > 64)
        {
            return false;
        }
        var slash = text.IndexOf('/', StringComparison.Ordinal);
        if (slash <= 0 || !IpAddressMath.TryParse(text[..slash], out var address)
            || !int.TryParse(text[(slash + 1)..], System.Globalization.NumberStyles.None, null, out var prefix))
        {
            return false;
        }
        var bits = address.AddressFamily == AddressFamily.InterNetwork ? 32 : 128;
        if (prefix < 0 || prefix > bits)
        {
            return false;
        }
        var value = IpAddressMath.ToNumber(address);
        var hostMask = prefix == bits ? UInt128.Zero : (((UInt128)1 << (bits - prefix)) - 1);
        if ((value & hostMask) != 0)
        {
            var recommended = IpAddressMath.FromNumber(value & ~hostMask, address.AddressFamily);
            error = $"'{text}' isn't a recognized IP subnet cidr, '{recommended}/{prefix}' is recommended";
            return false;
        }
        cidr = new SubnetCidr(address, prefix);
        return true;
    }

    /// <summary>A CIDR known to be valid (one this system stored); throws otherwise.</summary>
    public static SubnetCidr Parse(string text) => TryParse(text, out var cidr, out var error) ? cidr : throw new FormatException(error);

    /// <summary>The block of length <paramref name="prefix"/> that starts at <paramref name="first"/> (aligned).</summary>
    public static SubnetCidr Of(UInt128 first, int prefix, AddressFamily family) => new(IpAddressMath.FromNumber(first, family), prefix);

    /// <summary>Whether <paramref name="other"/> lies wholly inside this block.</summary>
    public bool Covers(SubnetCidr other) =>
        other.Version == Version && Range.First <= other.Range.First && other.Range.Last <= Range.Last;

    public bool Contains(IPAddress address) =>
        address.AddressFamily == Network.AddressFamily && Range.Contains(IpAddressMath.ToNumber(address));

    /// <summary>The first usable host: network + 1 (Neutron's default gateway).</summary>
    public IPAddress? DefaultGateway() => Range.Last - Range.First >= 2
        ? IpAddressMath.FromNumber(Range.First + 1, Network.AddressFamily)
        : null;

    /// <summary>Host addresses Neutron allocates from: excludes the network address and, for IPv4, broadcast.</summary>
    public IpRange HostRange()
    {
        if (Range.Last - Range.First < 2)
        {
            return Range; // /31, /32, /127, /128: every address is a host.
        }
        var last = Version == 4 ? Range.Last - 1 : Range.Last;
        return new IpRange(Range.First + 1, last, Network.AddressFamily);
    }

    /// <summary>Default pools: the host range minus the gateway.</summary>
    public IReadOnlyList<IpRange> DefaultPools(IPAddress? gateway)
    {
        var host = HostRange();
        if (gateway is null || !host.Contains(IpAddressMath.ToNumber(gateway)))
        {
            return [host];
        }
        var g = IpAddressMath.ToNumber(gateway);
        var pools = new List<IpRange>(2);
        if (g > host.First)
        {
            pools.Add(host with { Last = g - 1 });
        }
        if (g < host.Last)
        {
            pools.Add(host with { First = g + 1 });
        }
        return pools;
    }
}
