using Npgsql;
using OutboxSync.Worker.Tests.Support;

namespace OutboxSync.Worker.Tests.EndToEnd;

/// <summary>The drain through PgBouncer transaction pooling: leases, claims and completions keep no session state.</summary>
[Collection(nameof(EndToEndCollection))]
public sealed class PgBouncerTests : IAsyncLifetime
{
    private TestDatabase _db = null!;
    private NpgsqlDataSource _ds = null!;
    private SimulatorProcess _sim = null!;
    private PgBouncerProcess _bouncer = null!;

    public async Task InitializeAsync()
    {
        _db = await TestDatabase.CreateAsync();
        _ds = _db.CreateDataSource();
        _sim = await SimulatorProcess.StartAsync();
        // Fewer server connections than the two replicas' concurrency: transactions must share them.
        _bouncer = await PgBouncerProcess.StartAsync(_db.Server, serverPoolSize: 4);
    }

    public async Task DisposeAsync()
    {
        await _bouncer.DisposeAsync();
        await _sim.DisposeAsync();
        await _ds.DisposeAsync();
        await _db.DisposeAsync();
    }

    [Fact]
    public async Task Two_replicas_behind_transaction_pooling_converge_with_zero_violations()
    {
        await _sim.SetFaultsAsync(new { latency_min_ms = 2, latency_max_ms = 25, failure_rate = 0.05, failure_after_apply_rate = 0.05 });
        var settings = (string id) => new Dictionary<string, string?>
        {
            ["Database:ConnectionString"] = _bouncer.ConnectionStringFor(_db.Name),
            // LISTEN needs a real session, so it goes straight to PostgreSQL.
            ["Worker:NotificationConnectionString"] = _db.ConnectionString,
            ["Worker:InstanceId"] = id,
            ["Worker:MaxInFlight"] = "12",
        };
        await using var a = await WorkerHost.StartAsync(_db, _sim.BaseUrl.ToString(), settings: settings("bounced-a"));
        await using var b = await WorkerHost.StartAsync(_db, _sim.BaseUrl.ToString(), settings: settings("bounced-b"));

        var scenario = new Scenario(_ds);
        var nets = new List<Guid>();
        for (var i = 0; i < 15; i++)
        {
            var net = await scenario.CreateNetworkAsync($"pgb-{i}");
            var subnet = await scenario.CreateSubnetAsync(net);
            await scenario.CreatePortAsync(net, subnet);
            await scenario.UpdateNetworkAsync(net, $"pgb-{i}-b");
            nets.Add(net);
        }
        await scenario.DeleteNetworkAsync(await scenario.CreateNetworkAsync("pgb-short"));
        await scenario.WaitUntilDrainedAsync(TimeSpan.FromSeconds(120));
        // The simulator injects faults into reads too; the checks below read its inventory.
        await _sim.SetFaultsAsync(new { latency_min_ms = 0, latency_max_ms = 0, failure_rate = 0.0, failure_after_apply_rate = 0.0 });

        Assert.All(await _sim.ViolationsAsync(), v => Assert.True(v.Value == 0, $"{v.Key} = {v.Value}"));
        await using var unsettled = _ds.CreateCommand("""
            select count(*) from (select status from networks union all select status from subnets union all select status from ports) r
            where status <> 'ACTIVE'
            """);
        Assert.Equal(0L, await unsettled.ExecuteScalarAsync());
        var remote = await _sim.ListAsync("networks");
        Assert.All(nets, n => Assert.Equal(2, remote[n].Revision));
        Assert.True(a.Pass.Totals.Applied > 0 && b.Pass.Totals.Applied > 0, $"a={a.Pass.Totals} b={b.Pass.Totals}");
    }
}
