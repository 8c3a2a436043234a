using System.Net;
using OutboxSync.Simulator.Tests.Support;

namespace OutboxSync.Simulator.Tests;

/// <summary>The device cannot hold two ports with one fixed IP or one MAC.</summary>
public sealed class AddressTests
{
    private static object PortOn(string ip, string mac) =>
        new { NetworkId = "n1", MacAddress = mac, FixedIps = new[] { new { SubnetId = "s1", IpAddress = ip } } };

    private static async Task<GatewayClient> WithSubnetAsync(SimulatorFactory sim)
    {
        var gw = sim.Gateway();
        await gw.CreateAsync("networks", "n1", 1).ExpectAsync(HttpStatusCode.Created);
        await gw.CreateAsync("subnets", "s1", 1, new { NetworkId = "n1" }).ExpectAsync(HttpStatusCode.Created);
        return gw;
    }

    [Fact]
    public async Task A_port_given_an_address_another_port_holds_is_refused_and_counted_until_that_port_is_deleted()
    {
        await using var sim = new SimulatorFactory();
        var gw = await WithSubnetAsync(sim);
        await gw.CreateAsync("ports", "p1", 1, PortOn("10.0.0.5", "fa:16:3e:00:00:01")).ExpectAsync(HttpStatusCode.Created);

        await gw.CreateAsync("ports", "p2", 1, PortOn("10.0.0.5", "fa:16:3e:00:00:02"), key: "p2-create")
            .ExpectErrorAsync(HttpStatusCode.Conflict, "address_in_use");
        Assert.Equal(new Dictionary<string, long> { ["address_reuse"] = 1 }, await gw.NonZeroViolationsAsync());

        await gw.DeleteAsync("ports", "p1").ExpectAsync(HttpStatusCode.NoContent);
        // Not cached: the same call goes through once the holder is gone.
        await gw.CreateAsync("ports", "p2", 1, PortOn("10.0.0.5", "fa:16:3e:00:00:02"), key: "p2-create").ExpectAsync(HttpStatusCode.Created);
        Assert.Equal(1, (await gw.ViolationsAsync())["address_reuse"]);
    }

    [Fact]
    public async Task A_port_given_a_mac_another_port_holds_is_refused_and_counted()
    {
        await using var sim = new SimulatorFactory();
        var gw = await WithSubnetAsync(sim);
        await gw.CreateAsync("ports", "p1", 1, PortOn("10.0.0.5", "fa:16:3e:00:00:01")).ExpectAsync(HttpStatusCode.Created);
        await gw.CreateAsync("ports", "p2", 1, PortOn("10.0.0.6", "fa:16:3e:00:00:02")).ExpectAsync(HttpStatusCode.Created);

        await gw.UpdateAsync("ports", "p2", 2, PortOn("10.0.0.6", "FA:16:3E:00:00:01")).ExpectErrorAsync(HttpStatusCode.Conflict, "address_in_use");

        Assert.Equal(new Dictionary<string, long> { ["address_reuse"] = 1 }, await gw.NonZeroViolationsAsync());
    }

    [Fact]
    public async Task An_address_a_port_moved_away_from_is_free_for_another_and_a_port_keeps_its_own()
    {
        await using var sim = new SimulatorFactory();
        var gw = await WithSubnetAsync(sim);
        await gw.CreateAsync("ports", "p1", 1, PortOn("10.0.0.5", "fa:16:3e:00:00:01")).ExpectAsync(HttpStatusCode.Created);
        await gw.UpdateAsync("ports", "p1", 2, PortOn("10.0.0.5", "fa:16:3e:00:00:01")).ExpectAsync(HttpStatusCode.OK);
        await gw.UpdateAsync("ports", "p1", 3, PortOn("10.0.0.6", "fa:16:3e:00:00:01")).ExpectAsync(HttpStatusCode.OK);

        await gw.CreateAsync("ports", "p2", 1, PortOn("10.0.0.5", "fa:16:3e:00:00:02")).ExpectAsync(HttpStatusCode.Created);

        Assert.Empty(await gw.NonZeroViolationsAsync());
    }
}
