using System.Net;
using OutboxSync.Ipam;
using Xunit;

namespace OutboxSync.Shared.Tests.Ipam;

public sealed class Eui64Tests
{
    [Theory]
    // RFC 4291 appendix A: the MAC split by ff:fe, the universal/local bit (0x02 of the first octet) inverted.
    [InlineData("2001:db8::", "fa:16:3e:00:11:22", "2001:db8::f816:3eff:fe00:1122")]
    [InlineData("2001:db8:1:2::", "00:00:5e:00:53:01", "2001:db8:1:2:200:5eff:fe00:5301")]
    [InlineData("fd00::", "02:00:00:00:00:00", "fd00::ff:fe00:0")]
    [InlineData("2001:db8::", "FA-16-3E-AB-CD-EF", "2001:db8::f816:3eff:feab:cdef")]
    public void The_address_is_the_prefix_and_the_macs_modified_eui64_identifier(string prefix, string mac, string expected)
    {
        Assert.Equal(IPAddress.Parse(expected), Eui64.Address(IPAddress.Parse(prefix), mac));
    }

    [Fact]
    public void Only_an_ipv6_prefix_and_a_mac_make_an_address()
    {
        Assert.Throws<ArgumentException>(() => Eui64.Address(IPAddress.Parse("10.0.0.0"), "fa:16:3e:00:11:22"));
        Assert.Throws<ArgumentException>(() => Eui64.Address(IPAddress.Parse("2001:db8::"), "not a mac"));
    }
}
