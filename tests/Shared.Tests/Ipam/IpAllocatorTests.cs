using System.Net;
using OutboxSync.Ipam;
using Xunit;

namespace OutboxSync.Shared.Tests.Ipam;

public sealed class IpAllocatorTests
{
    private static IpRange Range(string first, string last) => IpRange.Of(IPAddress.Parse(first), IPAddress.Parse(last));

    private static UInt128 N(string address) => IpAddressMath.ToNumber(IPAddress.Parse(address));

    [Fact]
    public void Samples_are_distinct_addresses_inside_the_pools_and_never_the_gateway_or_an_excluded_one()
    {
        IpRange[] pools = [Range("10.0.0.2", "10.0.0.40"), Range("10.0.1.10", "10.0.1.20")];
        var excluded = new HashSet<UInt128> { N("10.0.0.3"), N("10.0.1.15") };
        var random = new Random(7);
        for (var round = 0; round < 200; round++)
        {
            var sample = IpAllocator.Sample(pools, N("10.0.0.2"), excluded, 16, random);
            Assert.Equal(16, sample.Count);
            Assert.Equal(sample.Count, sample.Distinct().Count());
            Assert.All(sample, a =>
            {
                var n = IpAddressMath.ToNumber(a);
                Assert.True(pools.Any(p => p.Contains(n)), a.ToString());
                Assert.NotEqual(N("10.0.0.2"), n);
                Assert.DoesNotContain(n, excluded);
            });
        }
    }

    [Fact]
    public void Samples_cover_every_pool_in_proportion_to_its_size()
    {
        IpRange[] pools = [Range("10.0.0.0", "10.0.0.255"), Range("10.1.0.0", "10.1.3.255")];
        var random = new Random(11);
        var inSecond = 0;
        var total = 0;
        for (var round = 0; round < 500; round++)
        {
            foreach (var a in IpAllocator.Sample(pools, null, new HashSet<UInt128>(), 8, random))
            {
                total++;
                inSecond += pools[1].Contains(IpAddressMath.ToNumber(a)) ? 1 : 0;
            }
        }
        // The second pool holds 4/5 of the addresses.
        Assert.InRange(inSecond / (double)total, 0.75, 0.85);
    }

    [Fact]
    public void An_ipv6_slash_64_is_sampled_across_its_whole_range()
    {
        IpRange[] pools = [Range("2001:db8::1", "2001:db8::ffff:ffff:ffff:ffff")];
        var sample = IpAllocator.Sample(pools, null, new HashSet<UInt128>(), 16, new Random(3));
        Assert.Equal(16, sample.Count);
        Assert.All(sample, a => Assert.True(pools[0].Contains(IpAddressMath.ToNumber(a))));
        // Uniform over 2^64: some sample lies in the upper half of the interface-id space.
        Assert.Contains(sample, a => IpAddressMath.ToNumber(a) > N("2001:db8::8000:0:0:0"));
    }

    [Fact]
    public void A_pool_smaller_than_the_sample_yields_each_free_address_at_most_once()
    {
        IpRange[] pools = [Range("10.0.0.2", "10.0.0.5")];
        var sample = IpAllocator.Sample(pools, N("10.0.0.2"), new HashSet<UInt128>(), 16, new Random(5));
        Assert.Subset(new HashSet<IPAddress> { IPAddress.Parse("10.0.0.3"), IPAddress.Parse("10.0.0.4"), IPAddress.Parse("10.0.0.5") },
            sample.ToHashSet());
        Assert.Equal(sample.Count, sample.Distinct().Count());
    }

    [Fact]
    public void The_exact_search_finds_the_last_free_address_of_a_nearly_full_pool()
    {
        IpRange[] pools = [Range("10.0.0.2", "10.0.0.254")];
        var allocated = Enumerable.Range(2, 253).Select(i => N($"10.0.0.{i}")).Where(n => n != N("10.0.0.77")).ToHashSet();
        Assert.Equal(IPAddress.Parse("10.0.0.77"), IpAllocator.PickFree(pools, allocated, null, 16));
        allocated.Add(N("10.0.0.77"));
        Assert.Null(IpAllocator.PickFree(pools, allocated, null, 16));
    }

    [Fact]
    public void Size_counts_every_address_of_every_pool() =>
        Assert.Equal((UInt128)(39 + 11), IpAllocator.Size([Range("10.0.0.2", "10.0.0.40"), Range("10.0.1.10", "10.0.1.20")]));
}
