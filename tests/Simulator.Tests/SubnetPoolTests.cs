using System.Net;
using OutboxSync.Simulator.Tests.Support;

namespace OutboxSync.Simulator.Tests;

/// <summary>Subnet pools at the gateway: a subnet naming a pool needs it, and the pool outlives its subnets.</summary>
public sealed class SubnetPoolTests
{
    [Fact]
    public async Task A_subnet_cut_from_a_pool_needs_the_pool_which_goes_only_after_it()
    {
        await using var sim = new SimulatorFactory();
        var gw = sim.Gateway();
        await gw.CreateAsync("networks", "n1", 1).ExpectAsync(HttpStatusCode.Created);
        await gw.CreateAsync("subnetpools", "sp1", 1).ExpectAsync(HttpStatusCode.Created);

        await gw.CreateAsync("subnets", "s-missing", 1, new { NetworkId = "n1", SubnetpoolId = "sp-missing" })
            .ExpectErrorAsync(HttpStatusCode.Conflict, "unknown_parent");
        await gw.CreateAsync("subnets", "s-plain", 1, new { NetworkId = "n1", SubnetpoolId = (string?)null }).ExpectAsync(HttpStatusCode.Created);
        await gw.CreateAsync("subnets", "s1", 1, new { NetworkId = "n1", SubnetpoolId = "sp1" }).ExpectAsync(HttpStatusCode.Created);
        await gw.DeleteAsync("subnetpools", "sp1").ExpectErrorAsync(HttpStatusCode.Conflict, "has_children");
        await gw.DeleteAsync("subnets", "s1").ExpectAsync(HttpStatusCode.NoContent);
        await gw.DeleteAsync("subnetpools", "sp1", key: "again").ExpectAsync(HttpStatusCode.NoContent);

        Assert.Equal(new Dictionary<string, long> { ["child_before_parent"] = 1, ["parent_deleted_before_child"] = 1 }, await gw.NonZeroViolationsAsync());
    }
}
