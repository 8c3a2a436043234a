using System.Net.Http.Json;
using System.Text.Json.Nodes;
using OutboxSync.Worker.Tests.EndToEnd;
using OutboxSync.Worker.Tests.Support;

namespace OutboxSync.Worker.Tests.Observability;

/// <summary>
/// The /metrics endpoints of the real API and worker processes, scraped before, during and after a workload that
/// goes API → outbox → worker → real simulator, with a back-end outage in the middle: the series an operator
/// alerts on must exist and move.
/// </summary>
[Collection(nameof(EndToEndCollection))]
public sealed class MetricsEndpointTests : SimulatorBackedTests
{
    private const int Networks = 6;
    private ApiProcess _api = null!;
    private ServiceProcess _worker = null!;
    private readonly HttpClient _scraper = new() { Timeout = TimeSpan.FromSeconds(10) };

    protected override async Task SetUpAsync()
    {
        await base.SetUpAsync();
        _api = await ApiProcess.StartAsync(Database.ConnectionString);
        _worker = await WorkerProcess.StartAsync(Database.ConnectionString, Simulator.BaseUrl, "metrics-worker", new Dictionary<string, string>
        {
            // A breaker that opens after a couple of outage answers and probes again soon after.
            ["Backend__BreakMinimumThroughput"] = "2",
            ["Backend__BreakSamplingDuration"] = "00:00:02",
            ["Backend__BreakDuration"] = "00:00:03",
        });
    }

    protected override async Task TearDownAsync()
    {
        _scraper.Dispose();
        await _worker.DisposeAsync();
        await _api.DisposeAsync();
        await base.TearDownAsync();
    }

    [Fact]
    public async Task Api_and_worker_metrics_move_with_a_workload_through_an_outage_and_settle_when_drained()
    {
        var apiBefore = await ScrapeAsync(_api.Process);
        var workerBefore = await ScrapeAsync(_worker);
        Assert.Equal(0, workerBefore.Sum("outboxsync_worker_backend_circuit_state"));
        Assert.True(workerBefore.Has("outboxsync_outbox_depth"), "outbox depth gauge missing:\n" + workerBefore.Text);

        await Simulator.SetFaultsAsync(new { outage = true });
        var ids = new List<Guid>();
        for (var i = 0; i < Networks; i++)
        {
            ids.Add(await _api.CreateAsync("networks", "network", new JsonObject { ["name"] = $"metrics-{i}" }));
        }

        for (var i = 1; i <= 3; i++)
        {
            // Queued behind the create while the back end is down, so they go out folded into one call.
            using var rename = await _api.Neutron.PutAsJsonAsync($"networks/{ids[0]}", new JsonObject { ["network"] = new JsonObject { ["name"] = $"metrics-0-v{i}" } });
            Assert.True(rename.IsSuccessStatusCode, $"rename: {(int)rename.StatusCode}");
        }

        // During the outage: the breaker opens, and the depth gauge sees the waiting entries. Observed separately: the
        // breaker is open only between probes, and the queue gauges refresh on their own schedule. The oldest change
        // ages from its acceptance; the oldest-due age is not asserted here: during an outage every entry is
        // rescheduled, so it is due only for the moment before the worker picks it up again.
        await Eventually.WaitAsync(() => ScrapeAsync(_worker), m => m.Sum("outboxsync_worker_backend_circuit_state") == 1,
            TimeSpan.FromSeconds(60), "an open breaker in the worker's metrics");
        var during = await Eventually.WaitAsync(() => ScrapeAsync(_worker),
            m => m.Sum("outboxsync_outbox_depth", ("state", "pending")) > 0 && m.Sum("outboxsync_outbox_oldest_pending_age_seconds") > 0,
            TimeSpan.FromSeconds(60), "a non-empty queue with an aging oldest change in the worker's metrics");
        Assert.True(during.Sum("outboxsync_worker_steps_total", ("outcome", "rescheduled")) > 0, during.Text);

        await Simulator.SetFaultsAsync(new { outage = false });
        foreach (var id in ids)
        {
            await _api.WaitForStatusAsync("networks", "network", id, "ACTIVE");
        }
        var after = await Eventually.WaitAsync(() => ScrapeAsync(_worker),
            m => m.Sum("outboxsync_worker_backend_circuit_state") == 0
                && m.Sum("outboxsync_outbox_depth", ("state", "pending")) == 0
                && m.Sum("outboxsync_outbox_oldest_due_age_seconds") == 0
                && m.Sum("outboxsync_outbox_oldest_pending_age_seconds") == 0,
            TimeSpan.FromSeconds(60), "closed breaker and an empty queue in the worker's metrics");
        var apiAfter = await ScrapeAsync(_api.Process);

        AssertRose(apiBefore, apiAfter, "http_server_request_duration_seconds_count", Networks, ("http_request_method", "POST"));
        AssertRose(workerBefore, after, "outboxsync_worker_steps_total", Networks, ("outcome", "applied"));
        AssertRose(workerBefore, after, "outboxsync_worker_backend_duration_seconds_count", Networks, ("outcome", "Applied"));
        AssertRose(workerBefore, after, "outboxsync_worker_backend_duration_seconds_count", 1, ("outcome", "Outage"));
        AssertRose(workerBefore, after, "outboxsync_worker_lease_acquisitions_total", Networks);
        AssertRose(workerBefore, after, "outboxsync_worker_coalesced_total", 1);
        Assert.Equal(0, after.Sum("outboxsync_outbox_depth", ("state", "blocked")));
        Assert.Equal(0, after.Sum("outboxsync_outbox_depth", ("state", "failed")));
        Assert.Equal(0, after.Sum("outboxsync_worker_in_flight"));
    }

    private Task<MetricsScrape> ScrapeAsync(ServiceProcess process) => MetricsScrape.ReadAsync(_scraper, process.Url!);

    private static void AssertRose(MetricsScrape before, MetricsScrape after, string name, int atLeast, params (string, string)[] where)
    {
        var rise = after.Sum(name, where) - before.Sum(name, where);
        Assert.True(rise >= atLeast,
            $"{name}{{{string.Join(',', where.Select(w => $"{w.Item1}={w.Item2}"))}}} rose by {rise}, expected at least {atLeast}:\n{after.Text}");
    }
}
