using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Npgsql;
using OutboxSync.Worker.Tests.Support;

namespace OutboxSync.Worker.Tests.Maintenance;

/// <summary>Reconciliation runs against the real simulator, with drift injected through its admin API.</summary>
[Collection(nameof(EndToEnd.EndToEndCollection))]
public sealed class ReconciliationTests : IAsyncLifetime
{
    private TestDatabase _db = null!;
    private NpgsqlDataSource _ds = null!;
    private Scenario _scenario = null!;
    private SimulatorProcess _sim = null!;

    public async Task InitializeAsync()
    {
        _db = await TestDatabase.CreateAsync();
        _ds = _db.CreateDataSource();
        _scenario = new Scenario(_ds);
        _sim = await SimulatorProcess.StartAsync();
    }

    public async Task DisposeAsync()
    {
        await _sim.DisposeAsync();
        await _ds.DisposeAsync();
        await _db.DisposeAsync();
    }

    [Fact]
    public async Task A_requested_run_reports_missing_orphaned_and_drifted_objects_and_nothing_else()
    {
        await using var worker = await WorkerHost.StartAsync(_db, _sim.BaseUrl.ToString(), settings: new Dictionary<string, string?>
        {
            ["Worker:Reconciliation:PollInterval"] = "00:00:00.100",
        });
        var nets = new List<Guid>();
        for (var i = 0; i < 4; i++)
        {
            nets.Add(await _scenario.CreateNetworkAsync($"r{i}"));
        }
        var subnet = await _scenario.CreateSubnetAsync(nets[0]);
        var router = await _scenario.CreateRouterAsync();
        await _scenario.AddRouterInterfaceAsync(router, subnet, nets[0]);
        await _scenario.WaitUntilDrainedAsync();

        var orphan = Guid.NewGuid();
        (await _sim.Admin.DeleteAsync($"_sim/objects/networks/{nets[1]}")).EnsureSuccessStatusCode();
        (await _sim.Admin.PutAsJsonAsync($"_sim/objects/networks/{nets[2]}", new { revision = 42, attributes = new { name = "drifted" } })).EnsureSuccessStatusCode();
        (await _sim.Admin.PutAsJsonAsync($"_sim/objects/networks/{orphan}", new { revision = 1, attributes = new { name = "orphan" } })).EnsureSuccessStatusCode();

        long runId;
        await using (var request = _ds.CreateCommand("insert into reconciliation_runs (requested_by) values ('test') returning id"))
        {
            runId = (long)(await request.ExecuteScalarAsync())!;
        }
        var run = await Eventually.WaitAsync(() => ReadRunAsync(runId), r => r.State is "finished" or "failed", TimeSpan.FromSeconds(30), "run to finish");

        Assert.Equal("finished", run.State);
        var findings = JsonNode.Parse(run.Findings)!.AsArray()
            .Select(f => (f!["kind"]!.GetValue<string>(), f["resource_type"]!.GetValue<string>(), Guid.Parse(f["id"]!.GetValue<string>())))
            .OrderBy(f => f.Item1).ToList();
        Assert.Equal(
            [("missing_at_back_end", "network", nets[1]), ("orphan_at_back_end", "network", orphan), ("revision_drift", "network", nets[2])],
            findings);
        Assert.Equal(3, JsonNode.Parse(run.Summary)!["findings"]!.GetValue<int>());
    }

    [Fact]
    public async Task Each_requested_run_is_executed_by_exactly_one_of_two_replicas()
    {
        var settings = new Dictionary<string, string?> { ["Worker:Reconciliation:PollInterval"] = "00:00:00.050" };
        await using var a = await WorkerHost.StartAsync(_db, _sim.BaseUrl.ToString(), settings: settings);
        await using var b = await WorkerHost.StartAsync(_db, _sim.BaseUrl.ToString(), settings: settings);
        await using (var request = _ds.CreateCommand("insert into reconciliation_runs (requested_by) select 'test' from generate_series(1, 6)"))
        {
            await request.ExecuteNonQueryAsync();
        }

        await Eventually.WaitAsync(async () =>
        {
            await using var cmd = _ds.CreateCommand("select count(*) from reconciliation_runs where state = 'finished'");
            return (long)(await cmd.ExecuteScalarAsync())!;
        }, n => n == 6, TimeSpan.FromSeconds(30), "six finished runs");
        await using var check = _ds.CreateCommand("select count(*) from reconciliation_runs where state <> 'finished' or started_at is null or finished_at < started_at");
        Assert.Equal(0L, await check.ExecuteScalarAsync());
    }

    private async Task<(string State, string Findings, string Summary)> ReadRunAsync(long id)
    {
        await using var cmd = _ds.CreateCommand("select state, findings::text, summary::text from reconciliation_runs where id = @id");
        cmd.Parameters.AddWithValue("id", id);
        await using var r = await cmd.ExecuteReaderAsync();
        await r.ReadAsync();
        return (r.GetString(0), r.GetString(1), r.GetString(2));
    }
}
