using OutboxSync.Ipam;
using Xunit;

namespace OutboxSync.Shared.Tests.Ipam;

public sealed class SubnetPrefixesTests
{
    private static List<SubnetCidr> Cidrs(params string[] texts) => texts.Select(SubnetCidr.Parse).ToList();

    private static List<string> Texts(IEnumerable<SubnetCidr> cidrs) => cidrs.Select(c => c.ToString()).ToList();

    [Theory]
    [InlineData(new[] { "10.0.0.0/9", "10.128.0.0/9" }, new[] { "10.0.0.0/8" })]
    [InlineData(new[] { "10.1.0.0/16", "10.0.0.0/8", "10.2.3.0/24" }, new[] { "10.0.0.0/8" })]
    [InlineData(new[] { "10.0.1.0/24", "10.0.2.0/24" }, new[] { "10.0.1.0/24", "10.0.2.0/24" })] // adjacent, not halves of one block
    [InlineData(new[] { "10.0.3.0/24", "10.0.2.0/24", "10.0.0.0/23" }, new[] { "10.0.0.0/22" })]
    [InlineData(new[] { "2001:db8::/33", "2001:db8:8000::/33", "fd00::/8" }, new[] { "2001:db8::/32", "fd00::/8" })]
    [InlineData(new[] { "0.0.0.0/1", "128.0.0.0/1" }, new[] { "0.0.0.0/0" })]
    public void Compacting_drops_contained_prefixes_and_merges_halves(string[] given, string[] expected)
    {
        Assert.Equal(expected, Texts(SubnetPrefixes.Compact(Cidrs(given))));
    }

    [Fact]
    public void A_cut_by_length_comes_from_the_smallest_free_block_that_holds_it()
    {
        var prefixes = Cidrs("10.0.0.0/16", "192.168.0.0/24");
        var allocated = Cidrs("10.0.0.0/24", "10.0.2.0/24");

        // Free: 10.0.1.0/24, 10.0.3.0/24, 10.0.4.0/22, … and 192.168.0.0/24.
        Assert.Equal("10.0.1.0/24", SubnetPrefixes.Allocate(prefixes, allocated, 24)!.ToString());
        Assert.Equal("10.0.1.0/28", SubnetPrefixes.Allocate(prefixes, allocated, 28)!.ToString());
        Assert.Equal("10.0.4.0/22", SubnetPrefixes.Allocate(prefixes, allocated, 22)!.ToString());
        Assert.Null(SubnetPrefixes.Allocate(prefixes, Cidrs("10.0.0.0/17", "10.0.128.0/17", "192.168.0.0/25", "192.168.0.128/25"), 30));
    }

    [Fact]
    public void A_cut_by_length_fills_a_pool_exactly_and_then_fails()
    {
        var prefixes = Cidrs("2001:db8::/60");
        var allocated = new List<SubnetCidr>();
        for (var i = 0; i < 16; i++)
        {
            var cut = SubnetPrefixes.Allocate(prefixes, allocated, 64) ?? throw new Xunit.Sdk.XunitException($"cut {i} failed");
            Assert.DoesNotContain(allocated, a => a.Range.Overlaps(cut.Range));
            allocated.Add(cut);
        }
        Assert.Null(SubnetPrefixes.Allocate(prefixes, allocated, 64));
    }

    [Theory]
    [InlineData("10.0.5.0/24", true)]
    [InlineData("10.0.0.128/25", false)] // inside an allocation
    [InlineData("10.0.0.0/23", false)]   // holds an allocation
    [InlineData("10.1.0.0/24", false)]   // outside every prefix
    [InlineData("10.0.0.0/15", false)]   // larger than the prefix
    public void A_cut_by_cidr_must_lie_in_a_prefix_and_touch_no_allocation(string requested, bool free)
    {
        Assert.Equal(free, SubnetPrefixes.IsFree(Cidrs("10.0.0.0/16"), Cidrs("10.0.0.0/24"), SubnetCidr.Parse(requested)));
    }

    [Fact]
    public void The_whole_ipv6_space_has_a_range()
    {
        var all = SubnetCidr.Parse("::/0");
        Assert.Equal(UInt128.Zero, all.Range.First);
        Assert.Equal(UInt128.MaxValue, all.Range.Last);
        Assert.True(all.Covers(SubnetCidr.Parse("2001:db8::/32")));
    }
}
