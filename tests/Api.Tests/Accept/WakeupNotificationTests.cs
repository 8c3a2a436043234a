using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Hosting;
using Npgsql;
using OutboxSync.Outbox;

namespace OutboxSync.Api.Tests.Accept;

/// <summary>
/// The API wakes the workers with NOTIFY after commits, at most once per <c>Api:WakeupInterval</c>: a burst of
/// commits shares notifications instead of waking every worker once per commit, and the first commit after a quiet
/// spell is announced at once. Each fixture has its own database, so only this API's notifications arrive.
/// </summary>
public sealed class WakeupNotificationTests(ApiFactory api) : IClassFixture<ApiFactory>
{
    private static readonly TimeSpan Interval = TimeSpan.FromMilliseconds(200);

    [Fact]
    public async Task A_burst_of_commits_is_announced_once_per_interval_and_the_first_commit_at_once()
    {
        await using var factory = api.WithWebHostBuilder(b => b.UseSetting("Api:WakeupInterval", Interval.ToString()));
        var client = new ApiClient(factory.CreateClient(), ApiFactory.P1Token);
        (await client.GetAsync("/v2.0/networks")).Expect(HttpStatusCode.OK); // host started before listening

        await using var listener = new NpgsqlConnection(api.Database.ConnectionString);
        await listener.OpenAsync();
        var arrivals = new ConcurrentQueue<TimeSpan>();
        using var arrived = new SemaphoreSlim(0);
        var clock = Stopwatch.StartNew();
        listener.Notification += (_, _) =>
        {
            arrivals.Enqueue(clock.Elapsed);
            arrived.Release();
        };
        await using (var listen = new NpgsqlCommand($"listen {OutboxWakeupChannel.Name}", listener))
        {
            await listen.ExecuteNonQueryAsync();
        }
        // Read notifications as they come (a notification is only timestamped when the connection reads it).
        using var stop = new CancellationTokenSource();
        var reading = Task.Run(async () =>
        {
            try
            {
                while (true)
                {
                    await listener.WaitAsync(stop.Token);
                }
            }
            catch (OperationCanceledException)
            {
            }
        });

        clock.Restart();
        const int clients = 12, createsEach = 20;
        await Task.WhenAll(Enumerable.Range(0, clients).Select(async _ =>
        {
            for (var i = 0; i < createsEach; i++)
            {
                (await client.PostAsync("/v2.0/networks", new JsonObject { ["network"] = new JsonObject { ["name"] = "burst" } }))
                    .Expect(HttpStatusCode.Created);
            }
        }));
        var burst = clock.Elapsed;
        // Collect until no notification came for two intervals (the last one is due at most one interval after
        // the last commit); bounded by the deadline.
        var deadline = clock.Elapsed + TimeSpan.FromSeconds(30);
        while (clock.Elapsed < deadline && await arrived.WaitAsync(2 * Interval)) { }
        await stop.CancelAsync();
        await reading;

        var times = arrivals.ToArray();
        Assert.NotEmpty(times);
        // The first commit finds no notification in flight and no interval running: announced at once (the bound
        // is loose for a loaded 2-core machine, and far below the interval's multiples a coalescing bug would add).
        Assert.True(times[0] < burst + Interval, $"first notification at {times[0].TotalMilliseconds:F0} ms, burst took {burst.TotalMilliseconds:F0} ms");
        var gaps = times.Zip(times.Skip(1), (a, b) => b - a).ToArray();
        // Delivery can bunch two notifications a little (the listener reads them from one socket); half the interval
        // still tells coalescing apart from one NOTIFY per commit, which arrives milliseconds apart.
        Assert.All(gaps, gap => Assert.True(gap >= Interval / 2, $"notifications {gap.TotalMilliseconds:F0} ms apart: {string.Join(", ", times.Select(t => t.TotalMilliseconds.ToString("F0")))}"));
        Assert.True(times.Length <= burst / Interval + 2, $"{times.Length} notifications for {clients * createsEach} commits in {burst.TotalMilliseconds:F0} ms");
    }
}
