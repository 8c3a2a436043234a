using System.Net.Http.Json;
using System.Text.Json.Nodes;
using OutboxSync.Worker.Tests.Support;

namespace OutboxSync.Worker.Tests.EndToEnd;

/// <summary>A worker process killed mid-call; another replica finishes after the leases expire.</summary>
[Collection(nameof(EndToEndCollection))]
public sealed class WorkerCrashTests : SimulatorBackedTests
{
    [Fact]
    public async Task A_worker_killed_mid_call_is_taken_over_after_lease_expiry_and_nothing_is_applied_twice()
    {
        await Simulator.SetFaultsAsync(new { latency_min_ms = 1500, latency_max_ms = 1500 });
        await using var victim = await StartShortLeaseWorkerAsync("victim");
        var nets = new List<Guid>();
        for (var i = 0; i < 12; i++)
        {
            var net = await Scenario.CreateNetworkAsync($"crash-{i}");
            await Scenario.CreateSubnetAsync(net);
            nets.Add(net);
        }

        // Kill it while calls are in flight at the back end (sent, not yet answered).
        // One call in flight is enough to kill mid-call; on a loaded machine the replica may dispatch them one by one.
        await Eventually.WaitAsync(InFlightAtSimulatorAsync, n => n >= 1 || victim.HasExited, TimeSpan.FromSeconds(60), "victim's calls in flight");
        Assert.False(victim.HasExited);
        var victimTokens = await HeldTokensAsync("victim");
        Assert.NotEmpty(victimTokens);
        victim.Signal(9);
        await victim.WaitForExitAsync();
        var killedAt = DateTimeOffset.UtcNow;

        await using var survivor = await StartShortLeaseSurvivorAsync();
        await Scenario.WaitUntilDrainedAsync(TimeSpan.FromSeconds(90));

        Assert.All(await Simulator.ViolationsAsync(), v => Assert.True(v.Value == 0, $"{v.Key} = {v.Value}"));
        var backendNets = await Simulator.ListAsync("networks");
        foreach (var net in nets)
        {
            Assert.Equal(1, backendNets[net].Revision);
            var calls = (await Simulator.Admin.GetFromJsonAsync<JsonObject>($"_sim/calls?resource_id={net}"))!["items"]!.AsArray();
            Assert.Equal(1, calls.Count(c => c!["outcome"]!.GetValue<string>() == "applied"));
            if (victimTokens.TryGetValue(net, out var victimToken))
            {
                // What the survivor applied went under a newer token than the dead holder's. (A call the victim sent
                // before it died may still be applied under its older token: that is the call it was making.)
                Assert.All(calls.Where(c => c!["outcome"]!.GetValue<string>() == "applied"
                                            && DateTimeOffset.Parse(c["started_at"]!.GetValue<string>(), System.Globalization.CultureInfo.InvariantCulture) > killedAt),
                    c => Assert.True(c!["fencing_token"]!.GetValue<long>() > victimToken));
            }
        }
        Assert.Equal(12, (await Simulator.ListAsync("subnets")).Count);
    }

    [Fact]
    public async Task A_worker_paused_longer_than_its_lease_resumes_without_acting_on_resources_taken_over()
    {
        await Simulator.SetFaultsAsync(new { latency_min_ms = 1000, latency_max_ms = 1000 });
        await using var paused = await StartShortLeaseWorkerAsync("paused");
        // The work arrives after the replica is up, so its calls are surely in flight while we look (a loaded machine
        // can take longer to report ready than the whole drain takes).
        var nets = new List<Guid>();
        for (var i = 0; i < 12; i++)
        {
            nets.Add(await Scenario.CreateNetworkAsync($"pause-{i}"));
        }
        await Eventually.WaitAsync(InFlightAtSimulatorAsync, n => n >= 1, TimeSpan.FromSeconds(60), "paused worker's calls in flight");
        paused.Signal(19); // SIGSTOP: the process keeps its sockets and believes its leases, but cannot renew them

        await using (var survivor = await StartShortLeaseSurvivorAsync())
        {
            await Scenario.WaitUntilDrainedAsync(TimeSpan.FromSeconds(60));
            paused.Signal(18); // SIGCONT after the survivor finished everything
            await survivor.Pass.WhenIdleAsync();
            await Eventually.WaitAsync(() => Simulator.Admin.GetFromJsonAsync<JsonObject>("_sim/stats")!, s => s!["in_flight"]!.GetValue<int>() == 0,
                TimeSpan.FromSeconds(10), "no calls in flight after resume");
        }

        Assert.All(await Simulator.ViolationsAsync(), v => Assert.True(v.Value == 0, $"{v.Key} = {v.Value}"));
        foreach (var net in nets)
        {
            var calls = (await Simulator.Admin.GetFromJsonAsync<JsonObject>($"_sim/calls?resource_id={net}"))!["items"]!.AsArray();
            Assert.Equal(1, calls.Count(c => c!["outcome"]!.GetValue<string>() == "applied"));
            Assert.Equal("ACTIVE", (await Scenario.ResourceAsync("networks", net))!.Value.Status);
        }
    }

    [Fact]
    public async Task A_worker_paused_mid_call_has_its_call_ended_at_the_deadline_it_sent_so_the_next_holder_never_overlaps_it()
    {
        // Calls slower than the lease: only the deadline each call carries can end the paused replica's calls at the
        // back end, since the paused process keeps its connections open and cannot cut them off itself.
        await Simulator.SetFaultsAsync(new { latency_min_ms = 8000, latency_max_ms = 8000 });
        await using var paused = await StartShortLeaseWorkerAsync("stalled");
        var nets = new List<Guid>();
        for (var i = 0; i < 6; i++)
        {
            nets.Add(await Scenario.CreateNetworkAsync($"stall-{i}"));
        }
        await Eventually.WaitAsync(InFlightAtSimulatorAsync, n => n >= 1, TimeSpan.FromSeconds(60), "stalled worker's calls in flight");
        paused.Signal(19); // SIGSTOP mid-call: its sockets stay open
        await Simulator.SetFaultsAsync(new { latency_min_ms = 50, latency_max_ms = 50 }); // later calls are quick

        await using (var survivor = await StartShortLeaseSurvivorAsync())
        {
            await Scenario.WaitUntilDrainedAsync(TimeSpan.FromSeconds(60));
            paused.Signal(18);
            await survivor.Pass.WhenIdleAsync();
        }

        Assert.All(await Simulator.ViolationsAsync(), v => Assert.True(v.Value == 0, $"{v.Key} = {v.Value}"));
        var outcomes = new List<string>();
        foreach (var net in nets)
        {
            var calls = (await Simulator.Admin.GetFromJsonAsync<JsonObject>($"_sim/calls?resource_id={net}"))!["items"]!.AsArray();
            outcomes.AddRange(calls.Select(c => c!["outcome"]!.GetValue<string>()));
            Assert.Equal(1, calls.Count(c => c!["outcome"]!.GetValue<string>() == "applied"));
            Assert.Equal("ACTIVE", (await Scenario.ResourceAsync("networks", net))!.Value.Status);
        }
        // The paused replica's calls were ended by the back end at their deadlines, not finished by it.
        Assert.Contains("deadline_exceeded", outcomes);
    }

    // Leases of 3 s trusted for 2: a takeover within seconds of a kill or a pause.
    private Task<ServiceProcess> StartShortLeaseWorkerAsync(string instanceId) =>
        ServiceProcess.StartAsync("Worker", new Dictionary<string, string>
        {
            ["Database__ConnectionString"] = Database.ConnectionString,
            ["Backend__BaseUrl"] = Simulator.BaseUrl.ToString(),
            ["Worker__InstanceId"] = instanceId,
            ["Worker__PollInterval"] = "00:00:00.100",
            ["Leases__Duration"] = "00:00:03",
            ["Leases__SafetyMargin"] = "00:00:01",
            ["Logging__LogLevel__Default"] = "Warning",
        }, healthPath: "/health/ready");

    /// <summary>The in-process replica that takes over, with the same short leases.</summary>
    private Task<WorkerHost> StartShortLeaseSurvivorAsync() =>
        WorkerHost.StartAsync(Database, Simulator.BaseUrl.ToString(), settings: new Dictionary<string, string?>
        {
            ["Worker:InstanceId"] = "survivor",
            ["Leases:Duration"] = "00:00:03",
            ["Leases:SafetyMargin"] = "00:00:01",
        });

    private async Task<int> InFlightAtSimulatorAsync()
    {
        var stats = await Simulator.Admin.GetFromJsonAsync<JsonObject>("_sim/stats");
        return stats!["in_flight"]!.GetValue<int>();
    }

    private async Task<Dictionary<Guid, long>> HeldTokensAsync(string holder)
    {
        var tokens = new Dictionary<Guid, long>();
        await using var cmd = DataSource.CreateCommand("select resource_id, token from resource_leases where holder = @h");
        cmd.Parameters.AddWithValue("h", holder);
        await using var r = await cmd.ExecuteReaderAsync();
        while (await r.ReadAsync())
        {
            tokens[r.GetGuid(0)] = r.GetInt64(1);
        }
        return tokens;
    }
}
