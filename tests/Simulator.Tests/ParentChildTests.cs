using System.Net;
using OutboxSync.Simulator.Tests.Support;

namespace OutboxSync.Simulator.Tests;

public sealed class ParentChildTests
{
    [Fact]
    public async Task Create_of_port_on_unknown_network_is_rejected_and_counted()
    {
        await using var sim = new SimulatorFactory();
        var gw = sim.Gateway();

        await gw.CreateAsync("ports", "p1", 1, new { NetworkId = "n-missing" }).ExpectErrorAsync(HttpStatusCode.Conflict, "unknown_parent");

        Assert.Equal(HttpStatusCode.NotFound, await gw.StatusOfGetAsync("/v1/ports/p1"));
        Assert.Equal(new Dictionary<string, long> { ["child_before_parent"] = 1 }, await gw.NonZeroViolationsAsync());
    }

    [Fact]
    public async Task Port_with_a_fixed_ip_on_an_unknown_subnet_is_rejected_and_counted()
    {
        await using var sim = new SimulatorFactory();
        var gw = sim.Gateway();
        await gw.CreateAsync("networks", "n1", 1).ExpectAsync(HttpStatusCode.Created);
        var fixedIps = new[] { new { SubnetId = "s-missing", IpAddress = "10.0.0.5" } };

        await gw.CreateAsync("ports", "p1", 1, new { NetworkId = "n1", FixedIps = fixedIps }).ExpectErrorAsync(HttpStatusCode.Conflict, "unknown_parent");

        Assert.Equal(1, (await gw.ViolationsAsync())["child_before_parent"]);
    }

    [Fact]
    public async Task Update_that_moves_a_subnet_to_an_unknown_network_is_rejected_and_counted()
    {
        await using var sim = new SimulatorFactory();
        var gw = sim.Gateway();
        await gw.CreateAsync("networks", "n1", 1).ExpectAsync(HttpStatusCode.Created);
        await gw.CreateAsync("subnets", "s1", 1, new { NetworkId = "n1" }).ExpectAsync(HttpStatusCode.Created);

        await gw.UpdateAsync("subnets", "s1", 2, new { NetworkId = "n-missing" }).ExpectErrorAsync(HttpStatusCode.Conflict, "unknown_parent");

        Assert.Equal(1, (await gw.ViolationsAsync())["child_before_parent"]);
    }

    [Fact]
    public async Task Subnet_without_network_id_is_bad_request()
    {
        await using var sim = new SimulatorFactory();
        var gw = sim.Gateway();

        await gw.CreateAsync("subnets", "s1", 1, new { Cidr = "10.0.0.0/24" }).ExpectErrorAsync(HttpStatusCode.BadRequest, "bad_request");
    }

    [Fact]
    public async Task Deleting_a_network_that_still_has_subnets_or_ports_is_rejected_and_counted()
    {
        await using var sim = new SimulatorFactory();
        var gw = sim.Gateway();
        await gw.CreateAsync("networks", "n1", 1).ExpectAsync(HttpStatusCode.Created);
        await gw.CreateAsync("subnets", "s1", 1, new { NetworkId = "n1" }).ExpectAsync(HttpStatusCode.Created);
        await gw.CreateAsync("ports", "p1", 1, new { NetworkId = "n1" }).ExpectAsync(HttpStatusCode.Created);

        await gw.DeleteAsync("networks", "n1").ExpectErrorAsync(HttpStatusCode.Conflict, "has_children");
        await gw.DeleteAsync("subnets", "s1").ExpectAsync(HttpStatusCode.NoContent);
        await gw.DeleteAsync("networks", "n1").ExpectErrorAsync(HttpStatusCode.Conflict, "has_children");
        await gw.DeleteAsync("ports", "p1").ExpectAsync(HttpStatusCode.NoContent);
        await gw.DeleteAsync("networks", "n1").ExpectAsync(HttpStatusCode.NoContent);

        Assert.Equal(new Dictionary<string, long> { ["parent_deleted_before_child"] = 2 }, await gw.NonZeroViolationsAsync());
    }

    [Fact]
    public async Task Deleting_a_subnet_still_used_by_a_port_fixed_ip_is_rejected_and_counted()
    {
        await using var sim = new SimulatorFactory();
        var gw = sim.Gateway();
        await gw.CreateAsync("networks", "n1", 1).ExpectAsync(HttpStatusCode.Created);
        await gw.CreateAsync("subnets", "s1", 1, new { NetworkId = "n1" }).ExpectAsync(HttpStatusCode.Created);
        var fixedIps = new[] { new { SubnetId = "s1", IpAddress = "10.0.0.5" } };
        await gw.CreateAsync("ports", "p1", 1, new { NetworkId = "n1", FixedIps = fixedIps }).ExpectAsync(HttpStatusCode.Created);

        await gw.DeleteAsync("subnets", "s1").ExpectErrorAsync(HttpStatusCode.Conflict, "has_children");

        // Dropping the fixed IP in an update releases the subnet.
        await gw.UpdateAsync("ports", "p1", 2, new { NetworkId = "n1" }).ExpectAsync(HttpStatusCode.OK);
        await gw.DeleteAsync("subnets", "s1").ExpectAsync(HttpStatusCode.NoContent);
        Assert.Equal(1, (await gw.ViolationsAsync())["parent_deleted_before_child"]);
    }
}
