using OutboxSync.Worker.Tests.Support;

namespace OutboxSync.Worker.Tests.EndToEnd;

/// <summary>The drain through PgBouncer transaction pooling: leases, claims and completions keep no session state.</summary>
[Collection(nameof(EndToEndCollection))]
public sealed class PgBouncerTests : SimulatorBackedTests
{
    private PgBouncerProcess _bouncer = null!;

    protected override async Task SetUpAsync()
    {
        await base.SetUpAsync();
        // Fewer server connections than the two replicas' concurrency: transactions must share them.
        _bouncer = await PgBouncerProcess.StartAsync(Database.Server, serverPoolSize: 4);
    }

    protected override async Task TearDownAsync()
    {
        await _bouncer.DisposeAsync();
        await base.TearDownAsync();
    }

    [Fact]
    public async Task Two_replicas_behind_transaction_pooling_converge_with_zero_violations()
    {
        await Simulator.SetFaultsAsync(new { latency_min_ms = 2, latency_max_ms = 25, failure_rate = 0.05, failure_after_apply_rate = 0.05 });
        var settings = (string id) => new Dictionary<string, string?>
        {
            ["Database:ConnectionString"] = _bouncer.ConnectionStringFor(Database.Name),
            // LISTEN needs a real session, so it goes straight to PostgreSQL.
            ["Worker:NotificationConnectionString"] = Database.ConnectionString,
            ["Worker:InstanceId"] = id,
            ["Worker:MaxInFlight"] = "12",
        };
        await using var a = await WorkerHost.StartAsync(Database, Simulator.BaseUrl.ToString(), settings: settings("bounced-a"));
        await using var b = await WorkerHost.StartAsync(Database, Simulator.BaseUrl.ToString(), settings: settings("bounced-b"));

        var nets = new List<Guid>();
        for (var i = 0; i < 15; i++)
        {
            var net = await Scenario.CreateNetworkAsync($"pgb-{i}");
            var subnet = await Scenario.CreateSubnetAsync(net);
            await Scenario.CreatePortAsync(net, subnet);
            await Scenario.UpdateNetworkAsync(net, $"pgb-{i}-b");
            nets.Add(net);
        }
        await Scenario.DeleteNetworkAsync(await Scenario.CreateNetworkAsync("pgb-short"));
        await Scenario.WaitUntilDrainedAsync(TimeSpan.FromSeconds(120));
        // The simulator injects faults into reads too; the checks below read its inventory.
        await Simulator.SetFaultsAsync(new { latency_min_ms = 0, latency_max_ms = 0, failure_rate = 0.0, failure_after_apply_rate = 0.0 });

        Assert.All(await Simulator.ViolationsAsync(), v => Assert.True(v.Value == 0, $"{v.Key} = {v.Value}"));
        await using var unsettled = DataSource.CreateCommand("""
            select count(*) from (select status from networks union all select status from subnets union all select status from ports) r
            where status <> 'ACTIVE'
            """);
        Assert.Equal(0L, await unsettled.ExecuteScalarAsync());
        var remote = await Simulator.ListAsync("networks");
        Assert.All(nets, n => Assert.Equal(2, remote[n].Revision));
        Assert.True(a.Pass.Totals.Applied > 0 && b.Pass.Totals.Applied > 0, $"a={a.Pass.Totals} b={b.Pass.Totals}");
    }
}
