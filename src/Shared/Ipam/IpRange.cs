using System.Net;
using System.Net.Sockets;

namespace OutboxSync.Ipam;

/// <summary>An inclusive range of addresses of one family, e.g. an allocation pool.</summary>
public readonly record struct IpRange(UInt128 First, UInt128 Last, AddressFamily Family)
{
    public bool Contains(UInt128 value) => value >= First && value <= Last;

    public bool Overlaps(IpRange other) => First <= other.Last && other.First <= Last;

    public string Start => IpAddressMath.FromNumber(First, Family).ToString();

    public string End => IpAddressMath.FromNumber(Last, Family).ToString();

    public static IpRange Of(IPAddress start, IPAddress end) =>
        new(IpAddressMath.ToNumber(start), IpAddressMath.ToNumber(end), start.AddressFamily);
}
