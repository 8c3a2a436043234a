using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using OutboxSync.Hosting;
using OutboxSync.Worker.Tests.Support;

namespace OutboxSync.Worker.Tests.Observability;

/// <summary>
/// The lease counters as recorded on the project's Meter by an in-process replica against real PostgreSQL and the
/// contract fake. Other classes may record too (the Meter is process-wide), so each test asserts its own event
/// happened at least once under the label it must carry.
/// </summary>
public sealed class LeaseMetricsTests : DatabaseBackedTests, IDisposable
{
    private readonly ConcurrentQueue<(string Instrument, long Value, string? Reason)> _recorded = new();
    private readonly MeterListener _listener = new();
    private readonly FakeBackend _backend = new();

    public LeaseMetricsTests()
    {
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter.Name == Telemetry.Name && instrument.Name.StartsWith("outboxsync.worker.lease.", StringComparison.Ordinal))
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) =>
        {
            string? reason = null;
            foreach (var tag in tags)
            {
                if (tag.Key == "reason")
                {
                    reason = tag.Value as string;
                }
            }
            _recorded.Enqueue((instrument.Name, value, reason));
        });
        _listener.Start();
    }

    public void Dispose() => _listener.Dispose();

    [Fact]
    public async Task Taking_over_a_dead_replicas_expired_lease_counts_an_acquisition_and_a_takeover()
    {
        var net = await Scenario.CreateNetworkAsync("orphaned");
        await using (var cmd = DataSource.CreateCommand("""
            insert into resource_leases (resource_id, holder, token, acquired_at, expires_at)
            values (@id, 'dead-replica', nextval('fencing_tokens'), now() - interval '1 minute', now() - interval '30 seconds')
            """))
        {
            cmd.Parameters.AddWithValue("id", net);
            await cmd.ExecuteNonQueryAsync();
        }

        await using var worker = await WorkerHost.StartAsync(Database, handler: _backend);
        await Scenario.WaitUntilDrainedAsync();

        Assert.True(Total("outboxsync.worker.lease.acquisitions") >= 1, Recorded());
        Assert.True(Total("outboxsync.worker.lease.takeovers") >= 1, Recorded());
    }

    [Fact]
    public async Task A_stale_token_answer_counts_a_lost_lease_with_reason_stale_token()
    {
        var once = 1;
        _backend.Fault = _ => Interlocked.Decrement(ref once) >= 0 ? (409, "stale_token") : null;
        await Scenario.CreateNetworkAsync("fenced");

        await using var worker = await WorkerHost.StartAsync(Database, handler: _backend);
        await Scenario.WaitUntilDrainedAsync();

        Assert.True(Total("outboxsync.worker.lease.lost", "stale_token") >= 1, Recorded());
    }

    [Fact]
    public async Task A_lease_that_runs_out_between_the_last_write_and_the_release_counts_a_lost_lease_with_reason_release_missed()
    {
        // Stands in for a replica stalled (GC, SIGSTOP) right after its confirmation: the confirming transaction
        // itself ends the lease by the database clock, so the release that follows finds it run out.
        await using (var cmd = DataSource.CreateCommand("""
            create function expire_lease_on_done() returns trigger language plpgsql as $$
            begin
                update resource_leases set expires_at = clock_timestamp() - interval '1 second' where resource_id = new.resource_id;
                return new;
            end $$;
            create trigger expire_lease_on_done after update of state on outbox_entries
                for each row when (new.state = 'done') execute function expire_lease_on_done();
            """))
        {
            await cmd.ExecuteNonQueryAsync();
        }
        var net = await Scenario.CreateNetworkAsync("stalled-before-release");

        // No heartbeat during the test: a renewal between the confirmation and the release would find the lease run
        // out first and report it as renew_failed instead.
        await using var worker = await WorkerHost.StartAsync(Database, handler: _backend, settings: new Dictionary<string, string?>
        {
            ["Leases:Duration"] = "00:10:00",
            ["Leases:RenewEvery"] = "00:05:00",
        });
        await Scenario.WaitUntilDrainedAsync();

        // The queue is drained at the confirmation; the release comes after it.
        await Eventually.WaitAsync(() => Task.FromResult(Total("outboxsync.worker.lease.lost", "release_missed")), n => n >= 1,
            TimeSpan.FromSeconds(10), $"a release_missed lost lease ({Recorded()})");
        Assert.Single(_backend.CallsFor(net));
    }

    private long Total(string instrument, string? reason = null) =>
        _recorded.Where(r => r.Instrument == instrument && (reason is null || r.Reason == reason)).Sum(r => r.Value);

    private string Recorded() => string.Join("; ", _recorded.Select(r => $"{r.Instrument}{(r.Reason is null ? "" : $"[{r.Reason}]")}={r.Value}"));
}
