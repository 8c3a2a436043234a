using OutboxSync.Worker.Tests.Support;

namespace OutboxSync.Worker.Tests.EndToEnd;

/// <summary>
/// Two drain replicas against the real simulator process over loopback HTTP, with its fault injection on.
/// The simulator's violation counters are the judge.
/// </summary>
[Collection(nameof(EndToEndCollection))]
public sealed class ReplicasAgainstSimulatorTests : SimulatorBackedTests
{
    private Dictionary<string, string?> ReplicaSettings(string id) => new()
    {
        ["Worker:InstanceId"] = id,
        ["Worker:MaxInFlight"] = "16",
        ["Backend:AttemptTimeout"] = "00:00:01",
        ["Backend:RetryCount"] = "2",
    };

    [Fact]
    public async Task Two_replicas_converge_a_thousand_operations_on_hundreds_of_resources_under_faults_with_zero_violations()
    {
        await Simulator.SetFaultsAsync(new
        {
            latency_min_ms = 2, latency_max_ms = 30,
            failure_rate = 0.05, failure_after_apply_rate = 0.05, reset_rate = 0.02,
            hang_rate = 0.01, hang_ms = 2000, outage = false,
        });
        await using var a = await WorkerHost.StartAsync(Database, Simulator.BaseUrl.ToString(), settings: ReplicaSettings("replica-a"));
        await using var b = await WorkerHost.StartAsync(Database, Simulator.BaseUrl.ToString(), settings: ReplicaSettings("replica-b"));

        var operations = await RunWorkloadAsync(new Random(20261123));
        Assert.InRange(operations, 1000, 1500);
        await Scenario.WaitUntilDrainedAsync(TimeSpan.FromSeconds(240));
        await Simulator.SetFaultsAsync(new { latency_min_ms = 0, latency_max_ms = 0, failure_rate = 0.0, failure_after_apply_rate = 0.0, reset_rate = 0.0, hang_rate = 0.0 });

        Assert.All(await Simulator.ViolationsAsync(), v => Assert.True(v.Value == 0, $"{v.Key} = {v.Value}"));
        await AssertConvergedAsync();
        Assert.True(a.Pass.Totals.Applied > 0 && b.Pass.Totals.Applied > 0, $"both replicas drain: a={a.Pass.Totals} b={b.Pass.Totals}");
    }

    /// <summary>About 370 resources and over 1,000 API-shaped operations, issued while the replicas drain.</summary>
    private async Task<int> RunWorkloadAsync(Random random)
    {
        var ops = 0;
        var nets = new List<Guid>();
        var subnetsOf = new Dictionary<Guid, List<Guid>>();
        for (var i = 0; i < 40; i++)
        {
            var net = await Scenario.CreateNetworkAsync($"net-{i}");
            nets.Add(net);
            subnetsOf[net] = [await Scenario.CreateSubnetAsync(net), await Scenario.CreateSubnetAsync(net)];
            ops += 3;
        }
        var routers = new List<Guid>();
        for (var i = 0; i < 10; i++)
        {
            routers.Add(await Scenario.CreateRouterAsync($"router-{i}"));
            ops++;
        }

        // Phase 2: ports on networks 0-29, interfaces on networks 0-9, renames everywhere, short-lived networks.
        var ports = new List<(Guid Port, Guid Net)>();
        var interfaces = new List<(Guid Router, Guid Port, Guid Subnet, Guid Net)>();
        var phase2 = new List<Func<Task>>();
        for (var i = 0; i < 220; i++)
        {
            var net = nets[i % 30];
            var subnet = subnetsOf[net][i % 2];
            phase2.Add(async () => ports.Add((await Scenario.CreatePortAsync(net, subnet, $"port-{i}"), net)));
        }
        for (var i = 0; i < 10; i++)
        {
            var (router, net) = (routers[i], nets[i]);
            var subnet = subnetsOf[net][1];
            phase2.Add(async () => interfaces.Add((router, await Scenario.AddRouterInterfaceAsync(router, subnet, net), subnet, net)));
        }
        foreach (var net in nets)
        {
            for (var v = 1; v <= 4; v++)
            {
                var name = $"net-renamed-{v}";
                phase2.Add(() => Scenario.UpdateNetworkAsync(net, name));
            }
        }
        for (var i = 0; i < 10; i++)
        {
            var n = i;
            phase2.Add(async () =>
            {
                var shortLived = await Scenario.CreateNetworkAsync($"short-{n}");
                await Scenario.UpdateNetworkAsync(shortLived, $"short-{n}-b");
                await Scenario.DeleteNetworkAsync(shortLived);
            });
        }
        // Renames of one network stay in order (each closure reads the next name); the rest interleave.
        ops += await RunShuffledAsync(phase2, random) + 20;

        // Phase 3: port updates, then deletes of ports, emptied networks (with their subnets) and interfaces.
        foreach (var (port, net) in ports)
        {
            await Scenario.UpdatePortAsync(port, net, "port-upd-1");
            await Scenario.UpdatePortAsync(port, net, "port-upd-2");
            ops += 2;
        }
        var phase3 = new List<Func<Task>>();
        foreach (var (port, net) in ports.Take(40))
        {
            phase3.Add(() => Scenario.DeletePortAsync(port, net));
        }
        foreach (var net in nets.Skip(30).Take(6))
        {
            phase3.Add(() => Scenario.DeleteNetworkAsync(net));
            ops += 2; // its two subnet deletes
        }
        foreach (var (router, port, subnet, net) in interfaces.Take(4))
        {
            phase3.Add(() => Scenario.RemoveRouterInterfaceAsync(router, port, subnet, net));
        }
        ops += await RunShuffledAsync(phase3, random);
        return ops;
    }

    private static async Task<int> RunShuffledAsync(List<Func<Task>> actions, Random random)
    {
        var shuffled = actions.OrderBy(_ => random.Next()).ToList();
        foreach (var action in shuffled)
        {
            await action();
        }
        return shuffled.Count;
    }

    private async Task AssertConvergedAsync()
    {
        await using (var failed = DataSource.CreateCommand("select count(*) from outbox_entries where state = 'failed'"))
        {
            Assert.Equal(0L, await failed.ExecuteScalarAsync());
        }
        await using (var unsettled = DataSource.CreateCommand("""
            select count(*) from (
                select status, revision_number, applied_revision from networks
                union all select status, revision_number, applied_revision from subnets
                union all select status, revision_number, applied_revision from ports
                union all select status, revision_number, applied_revision from routers) r
            where status <> 'ACTIVE' or applied_revision <> revision_number
            """))
        {
            Assert.Equal(0L, await unsettled.ExecuteScalarAsync());
        }

        foreach (var (collection, sql) in new[]
        {
            ("networks", "select id, applied_revision from networks"),
            ("subnets", "select id, applied_revision from subnets"),
            ("routers", "select id, applied_revision from routers"),
            // Interface ports exist at the back end only as interfaces.
            ("ports", "select id, applied_revision from ports where device_owner <> 'network:router_interface'"),
        })
        {
            var expected = await ReadAsync(sql);
            var actual = await Simulator.ListAsync(collection);
            Assert.Equal(expected.Keys.Order(), actual.Keys.Order());
            Assert.All(expected, e => Assert.Equal(e.Value, actual[e.Key].Revision));
        }
        var interfaces = await ReadAsync("select port_id, 0::bigint from router_interfaces");
        Assert.Equal(interfaces.Keys.Order(), (await Simulator.InterfacesAsync()).Select(i => i.Port).Order());
    }

    private async Task<Dictionary<Guid, long>> ReadAsync(string sql)
    {
        var rows = new Dictionary<Guid, long>();
        await using var cmd = DataSource.CreateCommand(sql);
        await using var r = await cmd.ExecuteReaderAsync();
        while (await r.ReadAsync())
        {
            rows[r.GetGuid(0)] = r.GetInt64(1);
        }
        return rows;
    }
}

/// <summary>End-to-end classes run one at a time: each starts processes and keeps a 2-core machine busy.</summary>
[CollectionDefinition(nameof(EndToEndCollection), DisableParallelization = true)]
public sealed class EndToEndCollection;
