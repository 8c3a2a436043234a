using System.Net;
using OutboxSync.Simulator.Tests.Support;

namespace OutboxSync.Simulator.Tests;

public sealed class AdminTests
{
    [Fact]
    public async Task Health_endpoint_answers_200()
    {
        await using var sim = new SimulatorFactory();

        Assert.Equal(HttpStatusCode.OK, await sim.Gateway().StatusOfGetAsync("/healthz"));
    }

    [Fact]
    public async Task Violations_report_every_counter_at_zero_when_clean()
    {
        await using var sim = new SimulatorFactory();

        var violations = await sim.Gateway().ViolationsAsync();

        Assert.Equal(
            ["address_reuse", "child_before_parent", "duplicate_apply", "key_reuse", "out_of_order", "overlap", "parent_deleted_before_child", "stale_token"],
            violations.Keys.Order(StringComparer.Ordinal));
        Assert.All(violations.Values, count => Assert.Equal(0, count));
    }

    [Fact]
    public async Task Reset_clears_inventory_counters_caches_and_logs_but_keeps_the_fault_plan()
    {
        await using var sim = new SimulatorFactory();
        var gw = sim.Gateway();
        await gw.SetFaultsAsync(new { RejectNameSubstring = "nope" });
        await gw.CreateAsync("networks", "n1", 5, token: 9, key: "k1").ExpectAsync(HttpStatusCode.Created);
        await gw.CreateAsync("ports", "p1", 1, new { NetworkId = "missing" }).ExpectAsync(HttpStatusCode.Conflict);

        await gw.Http.PostAsync(new Uri("/_sim/reset", UriKind.Relative), null).ExpectAsync(HttpStatusCode.NoContent);

        Assert.Equal(HttpStatusCode.NotFound, await gw.StatusOfGetAsync("/v1/networks/n1"));
        Assert.Empty(await gw.NonZeroViolationsAsync());
        Assert.Empty(await gw.CallsAsync("n1"));
        var stats = await gw.GetJsonAsync("/_sim/stats");
        Assert.Equal(0, stats.GetProperty("outcomes").GetProperty("applied").GetInt64());
        Assert.Equal(0, stats.GetProperty("objects").GetProperty("networks").GetInt32());
        Assert.Equal("nope", (await gw.GetJsonAsync("/_sim/faults")).GetProperty("reject_name_substring").GetString());

        // Fencing tokens, tombstones and cached results are gone too: the same key, a low token and a
        // low revision all apply afresh.
        using var again = await gw.CreateAsync("networks", "n1", 1, token: 1, key: "k1");
        Assert.Equal(HttpStatusCode.Created, again.StatusCode);
        Assert.False(again.Headers.Contains("Idempotent-Replayed"));
        Assert.Empty(await gw.NonZeroViolationsAsync());
    }

    [Fact]
    public async Task Behind_the_back_changes_bypass_every_check_and_count_nothing()
    {
        await using var sim = new SimulatorFactory();
        var gw = sim.Gateway();

        var placed = await gw.Http.PutAsync(
                new Uri("/_sim/objects/ports/p1", UriKind.Relative),
                new StringContent("""{"revision":4,"attributes":{"network_id":"missing","name":"reject-me"}}""", System.Text.Encoding.UTF8, "application/json"))
            .ExpectAsync(HttpStatusCode.OK);
        Assert.Equal(4, placed.GetProperty("revision").GetInt64());
        Assert.Equal("missing", (await gw.GetJsonAsync("/v1/ports/p1")).GetProperty("attributes").GetProperty("network_id").GetString());

        await gw.Http.DeleteAsync(new Uri("/_sim/objects/ports/p1", UriKind.Relative)).ExpectAsync(HttpStatusCode.NoContent);
        Assert.Equal(HttpStatusCode.NotFound, await gw.StatusOfGetAsync("/v1/ports/p1"));
        await gw.Http.DeleteAsync(new Uri("/_sim/objects/ports/p1", UriKind.Relative)).ExpectErrorAsync(HttpStatusCode.NotFound, "not_found");

        // No tombstone was left, so the system may recreate it at the same revision.
        await gw.CreateAsync("networks", "n1", 1).ExpectAsync(HttpStatusCode.Created);
        await gw.CreateAsync("ports", "p1", 4, new { NetworkId = "n1" }).ExpectAsync(HttpStatusCode.Created);
        Assert.Empty(await gw.NonZeroViolationsAsync());
        Assert.Empty(await gw.CallsAsync("missing"));
    }

    [Fact]
    public async Task Drifted_object_repaired_at_the_same_revision_is_not_a_duplicate_apply()
    {
        await using var sim = new SimulatorFactory();
        var gw = sim.Gateway();
        await gw.CreateAsync("routers", "r1", 3, new { Name = "right" }).ExpectAsync(HttpStatusCode.Created);
        await gw.Http.PutAsync(
                new Uri("/_sim/objects/routers/r1", UriKind.Relative),
                new StringContent("""{"revision":3,"attributes":{"name":"drifted"}}""", System.Text.Encoding.UTF8, "application/json"))
            .ExpectAsync(HttpStatusCode.OK);

        var repaired = await gw.UpdateAsync("routers", "r1", 3, new { Name = "right" }).ExpectAsync(HttpStatusCode.OK);

        Assert.Equal("right", repaired.GetProperty("attributes").GetProperty("name").GetString());
        Assert.Empty(await gw.NonZeroViolationsAsync());
    }

    [Fact]
    public async Task Stats_count_calls_by_route_and_outcome_and_objects_by_collection()
    {
        await using var sim = new SimulatorFactory();
        var gw = sim.Gateway();
        await gw.CreateAsync("networks", "n1", 1, key: "k").ExpectAsync(HttpStatusCode.Created);
        await gw.CreateAsync("networks", "n1", 1, key: "k").ExpectAsync(HttpStatusCode.Created);
        await gw.UpdateAsync("networks", "n1", 0).ExpectAsync(HttpStatusCode.Conflict);
        await gw.GetJsonAsync("/v1/networks/n1");

        var stats = await gw.GetJsonAsync("/_sim/stats");

        var calls = stats.GetProperty("calls");
        Assert.Equal(2, calls.GetProperty("POST networks").GetInt64());
        Assert.Equal(1, calls.GetProperty("PUT networks").GetInt64());
        Assert.Equal(1, calls.GetProperty("GET networks").GetInt64());
        var outcomes = stats.GetProperty("outcomes");
        Assert.Equal(1, outcomes.GetProperty("applied").GetInt64());
        Assert.Equal(1, outcomes.GetProperty("replayed").GetInt64());
        Assert.Equal(1, outcomes.GetProperty("rejected").GetInt64());
        Assert.Equal(0, outcomes.GetProperty("failed_injected").GetInt64());
        Assert.Equal(0, outcomes.GetProperty("outage").GetInt64());
        Assert.Equal(1, stats.GetProperty("objects").GetProperty("networks").GetInt32());
        Assert.Equal(0, stats.GetProperty("objects").GetProperty("interfaces").GetInt32());
        Assert.Equal(0, stats.GetProperty("in_flight").GetInt32());
    }

    [Fact]
    public async Task Call_log_lists_one_resources_mutations_in_arrival_order_with_their_details()
    {
        await using var sim = new SimulatorFactory();
        var gw = sim.Gateway();
        await gw.CreateAsync("routers", "r1", 1, token: 4, key: "create").ExpectAsync(HttpStatusCode.Created);
        await gw.CreateAsync("routers", "other", 1).ExpectAsync(HttpStatusCode.Created);
        await gw.SendAsync(
                HttpMethod.Put,
                "/v1/routers/r1",
                """{"revision":2}""",
                new Dictionary<string, string>
                {
                    ["X-Fencing-Token"] = "4",
                    ["Idempotency-Key"] = "update",
                    ["traceparent"] = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
                })
            .ExpectAsync(HttpStatusCode.OK);
        await gw.DeleteAsync("routers", "r1", token: 4, key: "delete").ExpectAsync(HttpStatusCode.NoContent);

        var calls = await gw.CallsAsync("r1");

        Assert.Equal(["POST", "PUT", "DELETE"], calls.Select(call => call.GetProperty("method").GetString()));
        Assert.Equal(["create", "update", "delete"], calls.Select(call => call.GetProperty("idempotency_key").GetString()));
        Assert.All(calls, call => Assert.Equal(4, call.GetProperty("fencing_token").GetInt64()));
        Assert.Equal(2, calls[1].GetProperty("revision").GetInt64());
        Assert.Equal("/v1/routers/r1", calls[1].GetProperty("path").GetString());
        Assert.Equal("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01", calls[1].GetProperty("traceparent").GetString());
        Assert.Equal(System.Text.Json.JsonValueKind.Null, calls[2].GetProperty("revision").ValueKind);
        Assert.Equal([201, 200, 204], calls.Select(call => call.GetProperty("status").GetInt32()));
        Assert.All(calls, call => Assert.Equal("applied", call.GetProperty("outcome").GetString()));
        Assert.True(calls[0].GetProperty("sequence").GetInt64() < calls[1].GetProperty("sequence").GetInt64());
        Assert.True(calls[0].GetProperty("started_at").GetDateTimeOffset() <= calls[0].GetProperty("finished_at").GetDateTimeOffset());
        Assert.Equal(4, (await gw.GetJsonAsync("/_sim/calls")).GetProperty("items").GetArrayLength());
    }
}
