using System.Net;
using Microsoft.Extensions.Time.Testing;
using OutboxSync.Simulator.Tests.Support;

namespace OutboxSync.Simulator.Tests;

/// <summary>On a fake clock, so "both calls are in flight" is arranged rather than hoped for.</summary>
public sealed class OverlapTests
{
    [Fact]
    public async Task Two_slow_calls_on_one_resource_that_overlap_are_counted()
    {
        var clock = new FakeTimeProvider();
        await using var sim = new SimulatorFactory(clock);
        var gw = sim.Gateway();
        await gw.CreateAsync("networks", "n1", 1).ExpectAsync(HttpStatusCode.Created);
        await gw.SetFaultsAsync(new { LatencyMinMs = 1000, LatencyMaxMs = 1000 });

        var first = gw.UpdateAsync("networks", "n1", 2);
        await Eventually.HoldsAsync(async () => await gw.InFlightAsync() == 1, "the first update is in flight");
        var second = gw.UpdateAsync("networks", "n1", 3);
        await Eventually.HoldsAsync(async () => await gw.InFlightAsync() == 2, "both updates are in flight");
        await Eventually.AdvanceUntilDoneAsync(clock, TimeSpan.FromSeconds(1), first, second);

        await first.ExpectAsync(HttpStatusCode.OK);
        await second.ExpectAsync(HttpStatusCode.OK);
        Assert.Equal(new Dictionary<string, long> { ["overlap"] = 1 }, await gw.NonZeroViolationsAsync());
        Assert.Equal(0, await gw.InFlightAsync());
    }

    [Fact]
    public async Task Slow_calls_on_different_resources_or_one_after_another_do_not_count_overlap()
    {
        var clock = new FakeTimeProvider();
        await using var sim = new SimulatorFactory(clock);
        var gw = sim.Gateway();
        await gw.SetFaultsAsync(new { LatencyMinMs = 500, LatencyMaxMs = 500 });

        var left = gw.CreateAsync("networks", "n1", 1);
        var right = gw.CreateAsync("networks", "n2", 1);
        await Eventually.HoldsAsync(async () => await gw.InFlightAsync() == 2, "both creates are in flight");
        await Eventually.AdvanceUntilDoneAsync(clock, TimeSpan.FromMilliseconds(500), left, right);
        await left.ExpectAsync(HttpStatusCode.Created);
        await right.ExpectAsync(HttpStatusCode.Created);

        var next = gw.UpdateAsync("networks", "n1", 2);
        await Eventually.HoldsAsync(async () => await gw.InFlightAsync() == 1, "the update is in flight");
        await Eventually.AdvanceUntilDoneAsync(clock, TimeSpan.FromMilliseconds(500), next);
        await next.ExpectAsync(HttpStatusCode.OK);

        Assert.Empty(await gw.NonZeroViolationsAsync());
    }
}
