using System.Net;
using OutboxSync.Simulator.Tests.Support;

namespace OutboxSync.Simulator.Tests;

public sealed class FencingTests
{
    [Fact]
    public async Task Lower_fencing_token_is_rejected_and_counted_stale_token()
    {
        await using var sim = new SimulatorFactory();
        var gw = sim.Gateway();
        await gw.CreateAsync("networks", "n1", 1, new { Name = "a" }, token: 5).ExpectAsync(HttpStatusCode.Created);

        await gw.UpdateAsync("networks", "n1", 2, new { Name = "zombie" }, token: 3).ExpectErrorAsync(HttpStatusCode.Conflict, "stale_token");

        Assert.Equal("a", (await gw.GetJsonAsync("/v1/networks/n1")).GetProperty("attributes").GetProperty("name").GetString());
        Assert.Equal(1, (await gw.ViolationsAsync())["stale_token"]);
    }

    [Fact]
    public async Task Equal_or_higher_token_is_accepted_and_a_higher_one_raises_the_bar()
    {
        await using var sim = new SimulatorFactory();
        var gw = sim.Gateway();
        await gw.CreateAsync("networks", "n1", 1, token: 5).ExpectAsync(HttpStatusCode.Created);

        await gw.UpdateAsync("networks", "n1", 2, token: 5).ExpectAsync(HttpStatusCode.OK);
        await gw.UpdateAsync("networks", "n1", 3, token: 9).ExpectAsync(HttpStatusCode.OK);
        await gw.UpdateAsync("networks", "n1", 4, token: 5).ExpectErrorAsync(HttpStatusCode.Conflict, "stale_token");
        await gw.DeleteAsync("networks", "n1", token: 8).ExpectErrorAsync(HttpStatusCode.Conflict, "stale_token");

        Assert.Equal(2, (await gw.ViolationsAsync())["stale_token"]);
    }

    [Fact]
    public async Task Fencing_tokens_are_tracked_per_resource()
    {
        await using var sim = new SimulatorFactory();
        var gw = sim.Gateway();
        await gw.CreateAsync("networks", "n1", 1, token: 9).ExpectAsync(HttpStatusCode.Created);

        await gw.CreateAsync("networks", "n2", 1, token: 1).ExpectAsync(HttpStatusCode.Created);

        Assert.Empty(await gw.NonZeroViolationsAsync());
    }
}
