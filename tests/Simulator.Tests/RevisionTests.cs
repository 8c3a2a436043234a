using System.Net;
using OutboxSync.Simulator.Tests.Support;

namespace OutboxSync.Simulator.Tests;

public sealed class RevisionTests
{
    [Fact]
    public async Task Lower_revision_is_rejected_and_counted_out_of_order()
    {
        await using var sim = new SimulatorFactory();
        var gw = sim.Gateway();
        await gw.CreateAsync("networks", "n1", 5, new { Name = "five" }).ExpectAsync(HttpStatusCode.Created);

        var body = await gw.UpdateAsync("networks", "n1", 4, new { Name = "four" }).ExpectAsync(HttpStatusCode.Conflict);

        Assert.Equal("stale_revision", body.GetProperty("error").GetString());
        Assert.Equal(5, body.GetProperty("current_revision").GetInt64());
        Assert.Equal("five", (await gw.GetJsonAsync("/v1/networks/n1")).GetProperty("attributes").GetProperty("name").GetString());
        Assert.Equal(new Dictionary<string, long> { ["out_of_order"] = 1 }, await gw.NonZeroViolationsAsync());
    }

    [Fact]
    public async Task Create_with_a_lower_revision_than_stored_is_counted_out_of_order()
    {
        await using var sim = new SimulatorFactory();
        var gw = sim.Gateway();
        await gw.CreateAsync("networks", "n1", 1).ExpectAsync(HttpStatusCode.Created);
        await gw.UpdateAsync("networks", "n1", 2).ExpectAsync(HttpStatusCode.OK);

        await gw.CreateAsync("networks", "n1", 1).ExpectErrorAsync(HttpStatusCode.Conflict, "stale_revision");

        Assert.Equal(1, (await gw.ViolationsAsync())["out_of_order"]);
    }

    [Fact]
    public async Task Create_or_update_after_delete_at_a_lower_or_equal_revision_is_counted_out_of_order()
    {
        await using var sim = new SimulatorFactory();
        var gw = sim.Gateway();
        await gw.CreateAsync("routers", "r1", 3).ExpectAsync(HttpStatusCode.Created);
        await gw.DeleteAsync("routers", "r1").ExpectAsync(HttpStatusCode.NoContent);

        await gw.CreateAsync("routers", "r1", 3).ExpectErrorAsync(HttpStatusCode.Conflict, "stale_revision");
        await gw.UpdateAsync("routers", "r1", 2).ExpectErrorAsync(HttpStatusCode.Conflict, "stale_revision");
        Assert.Equal(2, (await gw.ViolationsAsync())["out_of_order"]);

        // A genuinely newer incarnation is fine.
        await gw.CreateAsync("routers", "r1", 4).ExpectAsync(HttpStatusCode.Created);
        await gw.UpdateAsync("routers", "r1", 5).ExpectAsync(HttpStatusCode.OK);
        Assert.Equal(2, (await gw.ViolationsAsync())["out_of_order"]);
    }

    [Fact]
    public async Task Equal_revision_with_a_different_key_is_applied_but_counted_duplicate_apply()
    {
        await using var sim = new SimulatorFactory();
        var gw = sim.Gateway();
        await gw.CreateAsync("networks", "n1", 1).ExpectAsync(HttpStatusCode.Created);
        await gw.UpdateAsync("networks", "n1", 2, new { Name = "first" }, key: "a").ExpectAsync(HttpStatusCode.OK);

        var again = await gw.UpdateAsync("networks", "n1", 2, new { Name = "second" }, key: "b").ExpectAsync(HttpStatusCode.OK);

        Assert.Equal("second", again.GetProperty("attributes").GetProperty("name").GetString());
        Assert.Equal(new Dictionary<string, long> { ["duplicate_apply"] = 1 }, await gw.NonZeroViolationsAsync());
    }

    [Fact]
    public async Task Create_resent_under_a_new_key_answers_already_exists_and_is_counted_duplicate_apply()
    {
        await using var sim = new SimulatorFactory();
        var gw = sim.Gateway();
        await gw.CreateAsync("networks", "n1", 1, key: "a").ExpectAsync(HttpStatusCode.Created);

        await gw.CreateAsync("networks", "n1", 1, key: "b").ExpectErrorAsync(HttpStatusCode.Conflict, "already_exists");

        Assert.Equal(new Dictionary<string, long> { ["duplicate_apply"] = 1 }, await gw.NonZeroViolationsAsync());
    }

    [Fact]
    public async Task Delete_is_not_a_revision_check()
    {
        await using var sim = new SimulatorFactory();
        var gw = sim.Gateway();
        await gw.CreateAsync("networks", "n1", 7).ExpectAsync(HttpStatusCode.Created);

        await gw.DeleteAsync("networks", "n1").ExpectAsync(HttpStatusCode.NoContent);

        Assert.Empty(await gw.NonZeroViolationsAsync());
    }
}
