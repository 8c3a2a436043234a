using OutboxSync.Worker.Tests.Support;

namespace OutboxSync.Worker.Tests.Drain;

public sealed class OutboxNotificationsTests : DatabaseBackedTests
{
    [Fact]
    public async Task A_notify_wakes_the_drain_long_before_the_poll_interval()
    {
        var backend = new FakeBackend();
        await using var worker = await WorkerHost.StartAsync(Database, handler: backend, settings: new Dictionary<string, string?>
        {
            ["Worker:PollInterval"] = "00:01:00",
        });
        // Let the loop run its first pass and go to sleep on the (long) poll interval, listening.
        await Eventually.WaitAsync(ListenersAsync, n => n >= 1, TimeSpan.FromSeconds(10), "LISTEN outbox_wakeup");
        await Eventually.WaitAsync(() => Task.FromResult(worker.Pass.InFlight), n => n == 0, TimeSpan.FromSeconds(5), "idle");

        var net = await Scenario.CreateNetworkAsync("woken");
        await using (var notify = DataSource.CreateCommand("notify outbox_wakeup"))
        {
            await notify.ExecuteNonQueryAsync();
        }

        await Scenario.WaitUntilDrainedAsync(TimeSpan.FromSeconds(10));
        Assert.True(backend.Exists(net));
    }

    [Fact]
    public async Task Without_notifications_polling_still_drains()
    {
        var backend = new FakeBackend();
        await using var worker = await WorkerHost.StartAsync(Database, handler: backend, settings: new Dictionary<string, string?>
        {
            ["Worker:ListenForNotifications"] = "false",
            ["Worker:PollInterval"] = "00:00:00.200",
        });
        var net = await Scenario.CreateNetworkAsync("polled");
        await Scenario.WaitUntilDrainedAsync(TimeSpan.FromSeconds(10));
        Assert.True(backend.Exists(net));
    }

    private async Task<long> ListenersAsync()
    {
        await using var cmd = DataSource.CreateCommand("select count(*) from pg_stat_activity where datname = current_database() and query ilike 'listen outbox_wakeup%'");
        return (long)(await cmd.ExecuteScalarAsync())!;
    }
}
