using System.Globalization;
using System.Net;
using System.Text.Json;
using Microsoft.Extensions.Time.Testing;
using OutboxSync.Simulator.Tests.Support;

namespace OutboxSync.Simulator.Tests;

/// <summary>
/// <c>X-Request-Deadline</c>: the gateway neither starts nor applies a call past its caller's deadline, and the call
/// stops being in flight then, even while the caller (paused, say) keeps its connection open. On a fake clock.
/// </summary>
public sealed class DeadlineTests
{
    private static readonly DateTimeOffset Start = new(2026, 1, 31, 12, 0, 0, TimeSpan.Zero);

    [Fact]
    public async Task A_call_arriving_after_its_deadline_is_refused_504_and_neither_applied_nor_cached()
    {
        var clock = new FakeTimeProvider(Start);
        await using var sim = new SimulatorFactory(clock);
        var gw = sim.Gateway();
        await gw.CreateAsync("networks", "n1", 1).ExpectAsync(HttpStatusCode.Created);

        await UpdateAsync(gw, "n1", 2, "update-2", deadline: Start.AddMilliseconds(-1)).ExpectErrorAsync(HttpStatusCode.GatewayTimeout, "deadline_exceeded");

        Assert.Equal(1, (await gw.GetJsonAsync("/v1/networks/n1")).GetProperty("revision").GetInt64());
        Assert.Equal(0, await gw.InFlightAsync());
        // Not cached: the caller's next attempt, same key and a later deadline, is evaluated afresh.
        using var retry = await UpdateAsync(gw, "n1", 2, "update-2", deadline: Start.AddSeconds(5));
        Assert.Equal(HttpStatusCode.OK, retry.StatusCode);
        Assert.False(retry.Headers.Contains("Idempotent-Replayed"));
        var calls = await gw.CallsAsync("n1");
        Assert.Equal(["applied", "deadline_exceeded", "applied"], calls.Select(c => c.GetProperty("outcome").GetString()));
        Assert.Equal(Start.AddMilliseconds(-1), calls[1].GetProperty("deadline").GetDateTimeOffset());
        Assert.Empty(await gw.NonZeroViolationsAsync());
    }

    [Fact]
    public async Task A_slow_call_still_waiting_at_its_deadline_stops_being_in_flight_and_is_never_applied()
    {
        var clock = new FakeTimeProvider(Start);
        await using var sim = new SimulatorFactory(clock);
        var gw = sim.Gateway();
        await gw.CreateAsync("networks", "n1", 1).ExpectAsync(HttpStatusCode.Created);
        await gw.SetFaultsAsync(new { LatencyMinMs = 10_000, LatencyMaxMs = 10_000 });

        // The caller stays connected (as a paused process does) but told the gateway when it stops waiting.
        var stalled = UpdateAsync(gw, "n1", 2, "stalled", deadline: Start.AddSeconds(2), token: 1);
        await Eventually.HoldsAsync(async () => await gw.InFlightAsync() == 1, "the stalled update is in flight");
        clock.Advance(TimeSpan.FromSeconds(2));
        await stalled.ExpectErrorAsync(HttpStatusCode.GatewayTimeout, "deadline_exceeded");
        Assert.Equal(0, await gw.InFlightAsync());

        // The next holder's call, after the stalled one's deadline: no overlap, and only its change is applied.
        await gw.SetFaultsAsync(new { LatencyMinMs = 0, LatencyMaxMs = 0 });
        await UpdateAsync(gw, "n1", 3, "next-holder", deadline: Start.AddSeconds(10), token: 2).ExpectAsync(HttpStatusCode.OK);

        var stored = await gw.GetJsonAsync("/v1/networks/n1");
        Assert.Equal(3, stored.GetProperty("revision").GetInt64());
        Assert.Equal(["applied", "deadline_exceeded", "applied"], (await gw.CallsAsync("n1")).Select(c => c.GetProperty("outcome").GetString()));
        Assert.Empty(await gw.NonZeroViolationsAsync());
    }

    [Fact]
    public async Task Without_a_deadline_the_same_stalled_call_overlaps_the_next_holders()
    {
        // The contrast that makes the header worth sending: the gateway cannot tell a stalled caller from a slow one.
        var clock = new FakeTimeProvider(Start);
        await using var sim = new SimulatorFactory(clock);
        var gw = sim.Gateway();
        await gw.CreateAsync("networks", "n1", 1).ExpectAsync(HttpStatusCode.Created);
        await gw.SetFaultsAsync(new { LatencyMinMs = 10_000, LatencyMaxMs = 10_000 });

        var stalled = gw.UpdateAsync("networks", "n1", 2, token: 1);
        await Eventually.HoldsAsync(async () => await gw.InFlightAsync() == 1, "the stalled update is in flight");
        clock.Advance(TimeSpan.FromSeconds(2));
        var next = gw.UpdateAsync("networks", "n1", 3, token: 2);
        await Eventually.HoldsAsync(async () => await gw.InFlightAsync() == 2, "both updates are in flight");
        await Eventually.AdvanceUntilDoneAsync(clock, TimeSpan.FromSeconds(1), stalled, next);

        Assert.Equal(new Dictionary<string, long> { ["overlap"] = 1 }, await gw.NonZeroViolationsAsync());
    }

    [Theory]
    [InlineData("tomorrow")]
    [InlineData("2026-01-31T12:00:05")]
    [InlineData("1769860805")]
    public async Task A_deadline_that_is_not_an_RFC_3339_timestamp_with_an_offset_is_a_bad_request(string deadline)
    {
        await using var sim = new SimulatorFactory(new FakeTimeProvider(Start));
        var gw = sim.Gateway();

        await UpdateAsync(gw, "n1", 1, "k", deadline, token: 1, create: true).ExpectErrorAsync(HttpStatusCode.BadRequest, "bad_request");
    }

    [Theory]
    [InlineData("2026-01-31T12:00:05Z")]
    [InlineData("2026-01-31T12:00:05.250Z")]
    [InlineData("2026-01-31T13:00:05.1234567+01:00")]
    [InlineData("2026-01-31 12:00:05Z")]
    public async Task Deadlines_in_any_RFC_3339_form_are_understood(string deadline)
    {
        await using var sim = new SimulatorFactory(new FakeTimeProvider(Start));
        var gw = sim.Gateway();

        await UpdateAsync(gw, "n1", 1, "k", deadline, token: 1, create: true).ExpectAsync(HttpStatusCode.Created);
    }

    private static Task<HttpResponseMessage> UpdateAsync(GatewayClient gw, string id, long revision, string key, DateTimeOffset deadline, long token = 1) =>
        UpdateAsync(gw, id, revision, key, deadline.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture), token);

    private static Task<HttpResponseMessage> UpdateAsync(GatewayClient gw, string id, long revision, string key, string deadline, long token, bool create = false) =>
        gw.SendAsync(
            create ? HttpMethod.Post : HttpMethod.Put,
            create ? "/v1/networks" : $"/v1/networks/{id}",
            JsonSerializer.Serialize(create ? (object)new { id, revision, attributes = new { } } : new { revision, attributes = new { } }),
            new Dictionary<string, string>
            {
                ["X-Fencing-Token"] = token.ToString(CultureInfo.InvariantCulture),
                ["Idempotency-Key"] = key,
                ["X-Request-Deadline"] = deadline,
            });
}
