using System.Net;
using OutboxSync.Simulator.Tests.Support;

namespace OutboxSync.Simulator.Tests;

public sealed class RouterInterfaceTests
{
    private static async Task<GatewayClient> TopologyAsync(SimulatorFactory sim)
    {
        var gw = sim.Gateway();
        await gw.CreateAsync("networks", "n1", 1).ExpectAsync(HttpStatusCode.Created);
        await gw.CreateAsync("subnets", "s1", 1, new { NetworkId = "n1", Cidr = "10.0.0.0/24" }).ExpectAsync(HttpStatusCode.Created);
        await gw.CreateAsync("routers", "r1", 1).ExpectAsync(HttpStatusCode.Created);
        return gw;
    }

    [Fact]
    public async Task Interface_is_attached_listed_and_detached()
    {
        await using var sim = new SimulatorFactory();
        var gw = await TopologyAsync(sim);

        var attached = await gw.AttachAsync("r1", "p1", 1, "s1").ExpectAsync(HttpStatusCode.Created);
        Assert.Equal("r1", attached.GetProperty("router_id").GetString());
        Assert.Equal("p1", attached.GetProperty("port_id").GetString());
        Assert.Equal("s1", attached.GetProperty("attributes").GetProperty("subnet_id").GetString());

        await gw.AttachAsync("r1", "p1", 2, "s1").ExpectAsync(HttpStatusCode.OK);

        var ofRouter = (await gw.GetJsonAsync("/v1/routers/r1/interfaces")).GetProperty("items");
        Assert.Equal(1, ofRouter.GetArrayLength());
        Assert.Equal(2, ofRouter[0].GetProperty("revision").GetInt64());

        var all = await gw.GetJsonAsync("/v1/interfaces?limit=10");
        Assert.Equal("p1", all.GetProperty("items")[0].GetProperty("port_id").GetString());
        Assert.Equal("r1", all.GetProperty("items")[0].GetProperty("router_id").GetString());

        await gw.DetachAsync("r1", "p1").ExpectAsync(HttpStatusCode.NoContent);
        await gw.DetachAsync("r1", "p1").ExpectErrorAsync(HttpStatusCode.NotFound, "not_found");
        Assert.Equal(0, (await gw.GetJsonAsync("/v1/routers/r1/interfaces")).GetProperty("items").GetArrayLength());
        Assert.Empty(await gw.NonZeroViolationsAsync());
    }

    [Fact]
    public async Task Interface_on_unknown_router_or_subnet_is_rejected_and_counted_child_before_parent()
    {
        await using var sim = new SimulatorFactory();
        var gw = await TopologyAsync(sim);

        await gw.AttachAsync("r-missing", "p1", 1, "s1").ExpectErrorAsync(HttpStatusCode.NotFound, "not_found");
        await gw.AttachAsync("r1", "p1", 1, "s-missing").ExpectErrorAsync(HttpStatusCode.Conflict, "unknown_parent");

        Assert.Equal(2, (await gw.ViolationsAsync())["child_before_parent"]);
        Assert.Equal(HttpStatusCode.NotFound, await gw.StatusOfGetAsync("/v1/routers/r-missing/interfaces"));
    }

    [Fact]
    public async Task Router_or_subnet_with_interfaces_cannot_be_deleted_and_is_counted()
    {
        await using var sim = new SimulatorFactory();
        var gw = await TopologyAsync(sim);
        await gw.AttachAsync("r1", "p1", 1, "s1").ExpectAsync(HttpStatusCode.Created);

        await gw.DeleteAsync("routers", "r1").ExpectErrorAsync(HttpStatusCode.Conflict, "has_children");
        await gw.DeleteAsync("subnets", "s1").ExpectErrorAsync(HttpStatusCode.Conflict, "has_children");
        Assert.Equal(2, (await gw.ViolationsAsync())["parent_deleted_before_child"]);

        await gw.DetachAsync("r1", "p1").ExpectAsync(HttpStatusCode.NoContent);
        await gw.DeleteAsync("routers", "r1").ExpectAsync(HttpStatusCode.NoContent);
        await gw.DeleteAsync("subnets", "s1").ExpectAsync(HttpStatusCode.NoContent);
    }

    [Fact]
    public async Task Interface_calls_are_fenced_and_keyed_on_the_port_id()
    {
        await using var sim = new SimulatorFactory();
        var gw = await TopologyAsync(sim);
        await gw.CreateAsync("ports", "p1", 1, new { NetworkId = "n1" }, token: 5, key: "shared").ExpectAsync(HttpStatusCode.Created);

        await gw.AttachAsync("r1", "p1", 1, "s1", token: 3).ExpectErrorAsync(HttpStatusCode.Conflict, "stale_token");

        // Same key as the port create on the same resource id: one key space, so it is that call's key reused for
        // another call — refused and counted, neither replayed nor applied.
        await gw.AttachAsync("r1", "p1", 1, "s1", token: 5, key: "shared").ExpectErrorAsync(HttpStatusCode.UnprocessableEntity, "idempotency_key_reused");
        Assert.Equal(0, (await gw.GetJsonAsync("/v1/routers/r1/interfaces")).GetProperty("items").GetArrayLength());
        Assert.Equal(new Dictionary<string, long> { ["stale_token"] = 1, ["key_reuse"] = 1 }, await gw.NonZeroViolationsAsync());
    }

    [Fact]
    public async Task Port_already_attached_to_another_router_answers_port_in_use()
    {
        await using var sim = new SimulatorFactory();
        var gw = await TopologyAsync(sim);
        await gw.CreateAsync("routers", "r2", 1).ExpectAsync(HttpStatusCode.Created);
        await gw.AttachAsync("r1", "p1", 1, "s1").ExpectAsync(HttpStatusCode.Created);

        await gw.AttachAsync("r2", "p1", 2, "s1").ExpectErrorAsync(HttpStatusCode.Conflict, "port_in_use");
        await gw.DetachAsync("r2", "p1").ExpectErrorAsync(HttpStatusCode.NotFound, "not_found");
    }
}
