using System.Net;
using Microsoft.Extensions.Options;
using OutboxSync.Simulator.Tests.Support;

namespace OutboxSync.Simulator.Tests;

public sealed class FaultTests
{
    [Fact]
    public async Task Outage_answers_503_to_every_v1_call_and_clears_when_switched_off()
    {
        await using var sim = new SimulatorFactory();
        var gw = sim.Gateway();
        await gw.CreateAsync("networks", "n1", 1).ExpectAsync(HttpStatusCode.Created);
        await gw.SetFaultsAsync(new { Outage = true });

        await gw.CreateAsync("networks", "n2", 1).ExpectErrorAsync(HttpStatusCode.ServiceUnavailable, "outage");
        await gw.Http.GetAsync(new Uri("/v1/networks/n1", UriKind.Relative)).ExpectErrorAsync(HttpStatusCode.ServiceUnavailable, "outage");
        Assert.Equal(HttpStatusCode.OK, await gw.StatusOfGetAsync("/_sim/stats"));

        await gw.SetFaultsAsync(new { Outage = false });
        await gw.CreateAsync("networks", "n2", 1).ExpectAsync(HttpStatusCode.Created);
        Assert.Equal(1, (await gw.GetJsonAsync("/_sim/stats")).GetProperty("outcomes").GetProperty("outage").GetInt64());
    }

    [Fact]
    public async Task Injected_failure_answers_503_applies_nothing_and_is_not_cached()
    {
        await using var sim = new SimulatorFactory();
        var gw = sim.Gateway();
        await gw.SetFaultsAsync(new { FailureRate = 1.0 });

        await gw.CreateAsync("networks", "n1", 1, key: "k1").ExpectErrorAsync(HttpStatusCode.ServiceUnavailable, "unavailable");
        await gw.SetFaultsAsync(new { FailureRate = 0.0 });
        Assert.Equal(HttpStatusCode.NotFound, await gw.StatusOfGetAsync("/v1/networks/n1"));

        using var retry = await gw.CreateAsync("networks", "n1", 1, key: "k1");
        Assert.Equal(HttpStatusCode.Created, retry.StatusCode);
        Assert.False(retry.Headers.Contains("Idempotent-Replayed"));
    }

    [Fact]
    public async Task Reset_aborts_the_connection_and_applies_nothing()
    {
        await using var sim = new SimulatorFactory();
        var gw = sim.Gateway();
        await gw.SetFaultsAsync(new { ResetRate = 1.0 });

        await Assert.ThrowsAnyAsync<Exception>(() => gw.CreateAsync("networks", "n1", 1));

        await gw.SetFaultsAsync(new { ResetRate = 0.0 });
        Assert.Equal(HttpStatusCode.NotFound, await gw.StatusOfGetAsync("/v1/networks/n1"));
        // The client sees the abort before the gateway has logged the call.
        var calls = await Eventually.WaitAsync(() => gw.CallsAsync("n1"), logged => logged.Length > 0, TimeSpan.FromSeconds(10), "the reset call logged");
        var call = Assert.Single(calls);
        Assert.Equal("failed_injected", call.GetProperty("outcome").GetString());
        Assert.Equal("reset", call.GetProperty("error").GetString());
    }

    [Fact]
    public async Task Hung_call_abandoned_by_the_client_applies_nothing_and_leaves_flight()
    {
        await using var sim = new SimulatorFactory();
        var gw = sim.Gateway();
        await gw.SetFaultsAsync(new { HangRate = 1.0, HangMs = 60_000 });
        using var giveUp = new CancellationTokenSource();

        var pending = gw.CreateAsync("networks", "n1", 1, cancellationToken: giveUp.Token);
        await Eventually.HoldsAsync(async () => await gw.InFlightAsync() == 1, "the create hangs in flight");
        await giveUp.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => pending);
        await Eventually.HoldsAsync(async () => (await gw.CallsAsync("n1")).Length == 1, "the abandoned call is logged");
        Assert.Equal("aborted", (await gw.CallsAsync("n1"))[0].GetProperty("outcome").GetString());
        Assert.Equal(0, await gw.InFlightAsync());

        // Reads hang too, so switch hangs off before looking.
        await gw.SetFaultsAsync(new { HangRate = 0.0 });
        Assert.Equal(HttpStatusCode.NotFound, await gw.StatusOfGetAsync("/v1/networks/n1"));
    }

    [Fact]
    public async Task Name_containing_the_reject_substring_is_rejected_with_422()
    {
        await using var sim = new SimulatorFactory();
        var gw = sim.Gateway();

        await gw.CreateAsync("networks", "n1", 1, new { Name = "please-reject-me" }).ExpectErrorAsync(HttpStatusCode.UnprocessableEntity, "rejected");
        Assert.Equal(HttpStatusCode.NotFound, await gw.StatusOfGetAsync("/v1/networks/n1"));

        await gw.CreateAsync("networks", "n1", 1, new { Name = "fine" }).ExpectAsync(HttpStatusCode.Created);
        await gw.UpdateAsync("networks", "n1", 2, new { Name = "reject" }).ExpectErrorAsync(HttpStatusCode.UnprocessableEntity, "rejected");

        await gw.SetFaultsAsync(new { RejectNameSubstring = "nope" });
        await gw.UpdateAsync("networks", "n1", 2, new { Name = "reject" }).ExpectAsync(HttpStatusCode.OK);
        await gw.UpdateAsync("networks", "n1", 3, new { Name = "nope" }).ExpectErrorAsync(HttpStatusCode.UnprocessableEntity, "rejected");
    }

    [Fact]
    public async Task Reject_rate_of_one_rejects_every_create_with_422()
    {
        await using var sim = new SimulatorFactory();
        var gw = sim.Gateway();
        await gw.SetFaultsAsync(new { RejectRate = 1.0 });

        await gw.CreateAsync("routers", "r1", 1, new { Name = "ordinary" }).ExpectErrorAsync(HttpStatusCode.UnprocessableEntity, "rejected");
    }

    [Theory]
    [InlineData("""{"failure_rate":1.5}""")]
    [InlineData("""{"reset_rate":-0.1}""")]
    [InlineData("""{"hang_rate":"half"}""")]
    [InlineData("""{"latency_min_ms":-1}""")]
    [InlineData("""{"latency_min_ms":100}""")]
    [InlineData("""{"latency_min_ms":10,"latency_max_ms":5}""")]
    [InlineData("""{"hang_ms":1.5}""")]
    [InlineData("""{"outage":"yes"}""")]
    [InlineData("""{"seed":"abc"}""")]
    [InlineData("""{"reject_name_substring":7}""")]
    [InlineData("""{"latencyMinMs":10}""")]
    [InlineData("""[]""")]
    [InlineData("""not json""")]
    public async Task Fault_plan_update_with_unknown_fields_or_bad_values_is_bad_request_and_changes_nothing(string patch)
    {
        await using var sim = new SimulatorFactory();
        var gw = sim.Gateway();
        var before = (await gw.GetJsonAsync("/_sim/faults")).GetRawText();

        await gw.PutFaultsAsync(patch).ExpectErrorAsync(HttpStatusCode.BadRequest, "bad_request");

        Assert.Equal(before, (await gw.GetJsonAsync("/_sim/faults")).GetRawText());
    }

    [Fact]
    public async Task Partial_fault_plan_update_keeps_the_other_fields()
    {
        await using var sim = new SimulatorFactory();
        var gw = sim.Gateway();
        await gw.SetFaultsAsync(new { LatencyMinMs = 10, LatencyMaxMs = 20, Seed = 42 });

        var updated = await gw.PutFaultsAsync("""{"failure_rate":0.25}""").ExpectAsync(HttpStatusCode.OK);

        Assert.Equal(10, updated.GetProperty("latency_min_ms").GetInt32());
        Assert.Equal(20, updated.GetProperty("latency_max_ms").GetInt32());
        Assert.Equal(42, updated.GetProperty("seed").GetInt32());
        Assert.Equal(0.25, updated.GetProperty("failure_rate").GetDouble());
        Assert.Equal(30_000, updated.GetProperty("hang_ms").GetInt32());
        Assert.Equal("reject", updated.GetProperty("reject_name_substring").GetString());
    }

    [Fact]
    public async Task Fault_plan_can_be_set_from_configuration_at_start()
    {
        await using var sim = new SimulatorFactory(settings: new Dictionary<string, string>
        {
            ["Simulator:Faults:LatencyMinMs"] = "500",
            ["Simulator:Faults:LatencyMaxMs"] = "2000",
            ["Simulator:Faults:FailureRate"] = "0.1",
        });
        var gw = sim.Gateway();

        var faults = await gw.GetJsonAsync("/_sim/faults");

        Assert.Equal(500, faults.GetProperty("latency_min_ms").GetInt32());
        Assert.Equal(2000, faults.GetProperty("latency_max_ms").GetInt32());
        Assert.Equal(0.1, faults.GetProperty("failure_rate").GetDouble());
    }

    [Fact]
    public async Task Invalid_fault_plan_in_configuration_stops_start_up()
    {
        await using var sim = new SimulatorFactory(settings: new Dictionary<string, string>
        {
            ["Simulator:Faults:FailureRate"] = "2",
        });

        var failure = Assert.ThrowsAny<Exception>(() => sim.CreateClient());

        Assert.Contains("failure_rate", failure.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Faults_do_not_touch_admin_endpoints()
    {
        await using var sim = new SimulatorFactory();
        var gw = sim.Gateway();
        await gw.SetFaultsAsync(new { FailureRate = 1.0, LatencyMinMs = 60_000, LatencyMaxMs = 60_000 });

        Assert.Equal(HttpStatusCode.OK, await gw.StatusOfGetAsync("/_sim/violations"));
        Assert.Equal(HttpStatusCode.OK, await gw.StatusOfGetAsync("/healthz"));
        await gw.SetFaultsAsync(new { FailureRate = 0.0, LatencyMinMs = 0, LatencyMaxMs = 0 });
    }
}
