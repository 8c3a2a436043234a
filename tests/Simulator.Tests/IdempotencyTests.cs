using System.Net;
using OutboxSync.Simulator.Tests.Support;

namespace OutboxSync.Simulator.Tests;

public sealed class IdempotencyTests
{
    [Fact]
    public async Task Repeated_create_with_the_same_key_is_replayed_not_applied_twice()
    {
        await using var sim = new SimulatorFactory();
        var gw = sim.Gateway();

        using var first = await gw.CreateAsync("networks", "n1", 1, key: "k1");
        using var second = await gw.CreateAsync("networks", "n1", 1, key: "k1");

        Assert.Equal(HttpStatusCode.Created, first.StatusCode);
        Assert.Equal(HttpStatusCode.Created, second.StatusCode);
        Assert.False(first.Headers.Contains("Idempotent-Replayed"));
        Assert.Equal("true", second.Headers.GetValues("Idempotent-Replayed").Single());
        Assert.Equal(await first.Content.ReadAsStringAsync(), await second.Content.ReadAsStringAsync());

        var calls = await gw.CallsAsync("n1");
        Assert.Equal(["applied", "replayed"], calls.Select(call => call.GetProperty("outcome").GetString()));
        Assert.Empty(await gw.NonZeroViolationsAsync());
    }

    [Fact]
    public async Task Late_repeat_of_an_old_update_replays_its_answer_and_does_not_roll_back()
    {
        await using var sim = new SimulatorFactory();
        var gw = sim.Gateway();
        await gw.CreateAsync("networks", "n1", 1, new { Name = "v1" }).ExpectAsync(HttpStatusCode.Created);
        await gw.UpdateAsync("networks", "n1", 2, new { Name = "v2" }, key: "update-2").ExpectAsync(HttpStatusCode.OK);
        await gw.UpdateAsync("networks", "n1", 3, new { Name = "v3" }, key: "update-3").ExpectAsync(HttpStatusCode.OK);

        var replayed = await gw.UpdateAsync("networks", "n1", 2, new { Name = "v2" }, key: "update-2").ExpectAsync(HttpStatusCode.OK);

        Assert.Equal(2, replayed.GetProperty("revision").GetInt64());
        var stored = await gw.GetJsonAsync("/v1/networks/n1");
        Assert.Equal(3, stored.GetProperty("revision").GetInt64());
        Assert.Equal("v3", stored.GetProperty("attributes").GetProperty("name").GetString());
        Assert.Empty(await gw.NonZeroViolationsAsync());
    }

    [Fact]
    public async Task Replay_returns_the_first_final_answer_even_when_it_was_a_rejection()
    {
        await using var sim = new SimulatorFactory();
        var gw = sim.Gateway();
        await gw.UpdateAsync("routers", "r1", 1, key: "k").ExpectErrorAsync(HttpStatusCode.NotFound, "not_found");
        await gw.CreateAsync("routers", "r1", 1).ExpectAsync(HttpStatusCode.Created);

        await gw.UpdateAsync("routers", "r1", 1, key: "k").ExpectErrorAsync(HttpStatusCode.NotFound, "not_found");

        Assert.Equal(1, (await gw.GetJsonAsync("/v1/routers/r1")).GetProperty("revision").GetInt64());
    }

    [Fact]
    public async Task Same_key_on_different_resources_is_two_separate_calls()
    {
        await using var sim = new SimulatorFactory();
        var gw = sim.Gateway();

        await gw.CreateAsync("routers", "r1", 1, key: "same").ExpectAsync(HttpStatusCode.Created);
        await gw.CreateAsync("routers", "r2", 1, key: "same").ExpectAsync(HttpStatusCode.Created);

        Assert.Equal(2, (await gw.GetJsonAsync("/v1/routers")).GetProperty("items").GetArrayLength());
    }

    [Fact]
    public async Task Retry_after_failure_after_apply_gets_the_cached_success()
    {
        await using var sim = new SimulatorFactory();
        var gw = sim.Gateway();
        await gw.SetFaultsAsync(new { FailureAfterApplyRate = 1.0 });

        await gw.CreateAsync("networks", "n1", 1, new { Name = "blue" }, key: "k1").ExpectErrorAsync(HttpStatusCode.ServiceUnavailable, "unavailable");
        var stored = await gw.GetJsonAsync("/v1/networks/n1");

        await gw.SetFaultsAsync(new { FailureAfterApplyRate = 0.0 });
        using var retry = await gw.CreateAsync("networks", "n1", 1, new { Name = "blue" }, key: "k1");

        Assert.Equal(HttpStatusCode.Created, retry.StatusCode);
        Assert.True(retry.Headers.Contains("Idempotent-Replayed"));
        Assert.Equal(stored.GetRawText(), (await retry.ExpectAsync(HttpStatusCode.Created)).GetRawText());
        var calls = await gw.CallsAsync("n1");
        Assert.Equal(["failed_after_apply", "replayed"], calls.Select(call => call.GetProperty("outcome").GetString()));
        Assert.Empty(await gw.NonZeroViolationsAsync());
    }

    // Answers that depend on other resources' state are not cached: the same key, retried after that state changed,
    // is evaluated afresh (docs/backend-api.md, Idempotency).

    [Fact]
    public async Task An_unknown_parent_refusal_is_not_replayed_once_the_parent_exists()
    {
        await using var sim = new SimulatorFactory();
        var gw = sim.Gateway();
        await gw.CreateAsync("subnets", "s1", 1, new { NetworkId = "n1" }, key: "k").ExpectErrorAsync(HttpStatusCode.Conflict, "unknown_parent");
        await gw.CreateAsync("networks", "n1", 1).ExpectAsync(HttpStatusCode.Created);

        using var retry = await gw.CreateAsync("subnets", "s1", 1, new { NetworkId = "n1" }, key: "k");

        await retry.ExpectAsync(HttpStatusCode.Created);
        Assert.False(retry.Headers.Contains("Idempotent-Replayed"));
        Assert.Equal(["rejected", "applied"], (await gw.CallsAsync("s1")).Select(call => call.GetProperty("outcome").GetString()));
    }

    [Fact]
    public async Task A_has_children_refusal_is_not_replayed_once_the_children_are_gone()
    {
        await using var sim = new SimulatorFactory();
        var gw = sim.Gateway();
        await gw.CreateAsync("networks", "n1", 1).ExpectAsync(HttpStatusCode.Created);
        await gw.CreateAsync("subnets", "s1", 1, new { NetworkId = "n1" }).ExpectAsync(HttpStatusCode.Created);
        await gw.DeleteAsync("networks", "n1", key: "k").ExpectErrorAsync(HttpStatusCode.Conflict, "has_children");
        await gw.DeleteAsync("subnets", "s1").ExpectAsync(HttpStatusCode.NoContent);

        using var retry = await gw.DeleteAsync("networks", "n1", key: "k");

        Assert.Equal(HttpStatusCode.NoContent, retry.StatusCode);
        Assert.False(retry.Headers.Contains("Idempotent-Replayed"));
        Assert.Equal(HttpStatusCode.NotFound, await gw.StatusOfGetAsync("/v1/networks/n1"));
    }

    [Fact]
    public async Task A_port_in_use_refusal_is_not_replayed_once_the_other_router_lets_the_port_go()
    {
        await using var sim = new SimulatorFactory();
        var gw = sim.Gateway();
        await gw.CreateAsync("networks", "n1", 1).ExpectAsync(HttpStatusCode.Created);
        await gw.CreateAsync("subnets", "s1", 1, new { NetworkId = "n1" }).ExpectAsync(HttpStatusCode.Created);
        await gw.CreateAsync("routers", "r1", 1).ExpectAsync(HttpStatusCode.Created);
        await gw.CreateAsync("routers", "r2", 1).ExpectAsync(HttpStatusCode.Created);
        await gw.AttachAsync("r1", "p1", 1, "s1").ExpectAsync(HttpStatusCode.Created);
        await gw.AttachAsync("r2", "p1", 2, "s1", key: "k").ExpectErrorAsync(HttpStatusCode.Conflict, "port_in_use");
        await gw.DetachAsync("r1", "p1").ExpectAsync(HttpStatusCode.NoContent);

        using var retry = await gw.AttachAsync("r2", "p1", 2, "s1", key: "k");

        await retry.ExpectAsync(HttpStatusCode.Created);
        Assert.False(retry.Headers.Contains("Idempotent-Replayed"));
        Assert.Equal(1, (await gw.GetJsonAsync("/v1/routers/r2/interfaces")).GetProperty("items").GetArrayLength());
    }

    [Fact]
    public async Task A_missing_router_refusal_of_an_attach_is_not_replayed_once_the_router_exists()
    {
        await using var sim = new SimulatorFactory();
        var gw = sim.Gateway();
        await gw.CreateAsync("networks", "n1", 1).ExpectAsync(HttpStatusCode.Created);
        await gw.CreateAsync("subnets", "s1", 1, new { NetworkId = "n1" }).ExpectAsync(HttpStatusCode.Created);
        await gw.AttachAsync("r1", "p1", 1, "s1", key: "k").ExpectErrorAsync(HttpStatusCode.NotFound, "not_found");
        await gw.CreateAsync("routers", "r1", 1).ExpectAsync(HttpStatusCode.Created);

        using var retry = await gw.AttachAsync("r1", "p1", 1, "s1", key: "k");

        await retry.ExpectAsync(HttpStatusCode.Created);
        Assert.False(retry.Headers.Contains("Idempotent-Replayed"));
    }

    [Fact]
    public async Task A_stale_revision_refusal_is_replayed_like_every_answer_about_the_resource_itself()
    {
        await using var sim = new SimulatorFactory();
        var gw = sim.Gateway();
        await gw.CreateAsync("networks", "n1", 1).ExpectAsync(HttpStatusCode.Created);
        await gw.UpdateAsync("networks", "n1", 3).ExpectAsync(HttpStatusCode.OK);
        await gw.UpdateAsync("networks", "n1", 2, key: "k").ExpectErrorAsync(HttpStatusCode.Conflict, "stale_revision");

        using var retry = await gw.UpdateAsync("networks", "n1", 2, key: "k");

        Assert.Equal(HttpStatusCode.Conflict, retry.StatusCode);
        Assert.Equal("true", retry.Headers.GetValues("Idempotent-Replayed").Single());
    }

    [Fact]
    public async Task A_key_reused_with_another_body_is_refused_counted_and_changes_nothing()
    {
        await using var sim = new SimulatorFactory();
        var gw = sim.Gateway();
        await gw.CreateAsync("networks", "n1", 1, new { Name = "first" }, key: "k").ExpectAsync(HttpStatusCode.Created);

        await gw.CreateAsync("networks", "n1", 1, new { Name = "second" }, key: "k").ExpectErrorAsync(HttpStatusCode.UnprocessableEntity, "idempotency_key_reused");

        Assert.Equal("first", (await gw.GetJsonAsync("/v1/networks/n1")).GetProperty("attributes").GetProperty("name").GetString());
        Assert.Equal(new Dictionary<string, long> { ["key_reuse"] = 1 }, await gw.NonZeroViolationsAsync());
    }

    [Fact]
    public async Task A_key_reused_on_another_path_is_refused_and_counted()
    {
        await using var sim = new SimulatorFactory();
        var gw = sim.Gateway();
        await gw.CreateAsync("networks", "n1", 1, key: "k").ExpectAsync(HttpStatusCode.Created);

        await gw.UpdateAsync("networks", "n1", 2, key: "k").ExpectErrorAsync(HttpStatusCode.UnprocessableEntity, "idempotency_key_reused");
        await gw.DeleteAsync("networks", "n1", key: "k").ExpectErrorAsync(HttpStatusCode.UnprocessableEntity, "idempotency_key_reused");

        Assert.Equal(1, (await gw.GetJsonAsync("/v1/networks/n1")).GetProperty("revision").GetInt64());
        Assert.Equal(new Dictionary<string, long> { ["key_reuse"] = 2 }, await gw.NonZeroViolationsAsync());
    }

    [Fact]
    public async Task A_repeat_whose_body_differs_only_in_key_order_is_a_replay()
    {
        await using var sim = new SimulatorFactory();
        var gw = sim.Gateway();
        await gw.CreateAsync("networks", "n1", 1, new { Name = "a", Description = "d" }, key: "k").ExpectAsync(HttpStatusCode.Created);

        using var repeat = await gw.CreateAsync("networks", "n1", 1, new { Description = "d", Name = "a" }, key: "k");

        Assert.Equal(HttpStatusCode.Created, repeat.StatusCode);
        Assert.Equal("true", repeat.Headers.GetValues("Idempotent-Replayed").Single());
        Assert.Empty(await gw.NonZeroViolationsAsync());
    }
}
