using System.Net.Http.Json;
using System.Text.Json.Nodes;
using OutboxSync.Worker.Tests.Support;

namespace OutboxSync.Worker.Tests.Maintenance;

/// <summary>Reconciliation runs against the real simulator, with drift injected through its admin API.</summary>
[Collection(nameof(EndToEnd.EndToEndCollection))]
public sealed class ReconciliationTests : SimulatorBackedTests
{
    [Fact]
    public async Task A_requested_run_reports_missing_orphaned_and_drifted_objects_and_nothing_else()
    {
        await using var worker = await WorkerHost.StartAsync(Database, Simulator.BaseUrl.ToString(), settings: new Dictionary<string, string?>
        {
            ["Worker:Reconciliation:PollInterval"] = "00:00:00.100",
        });
        var nets = new List<Guid>();
        for (var i = 0; i < 4; i++)
        {
            nets.Add(await Scenario.CreateNetworkAsync($"r{i}"));
        }
        var subnet = await Scenario.CreateSubnetAsync(nets[0]);
        var router = await Scenario.CreateRouterAsync();
        await Scenario.AddRouterInterfaceAsync(router, subnet, nets[0]);
        await Scenario.WaitUntilDrainedAsync();

        var orphan = Guid.NewGuid();
        (await Simulator.Admin.DeleteAsync($"_sim/objects/networks/{nets[1]}")).EnsureSuccessStatusCode();
        (await Simulator.Admin.PutAsJsonAsync($"_sim/objects/networks/{nets[2]}", new { revision = 42, attributes = new { name = "drifted" } })).EnsureSuccessStatusCode();
        (await Simulator.Admin.PutAsJsonAsync($"_sim/objects/networks/{orphan}", new { revision = 1, attributes = new { name = "orphan" } })).EnsureSuccessStatusCode();

        long runId;
        await using (var request = DataSource.CreateCommand("insert into reconciliation_runs (requested_by) values ('test') returning id"))
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
        await using var a = await WorkerHost.StartAsync(Database, Simulator.BaseUrl.ToString(), settings: settings);
        await using var b = await WorkerHost.StartAsync(Database, Simulator.BaseUrl.ToString(), settings: settings);
        await using (var request = DataSource.CreateCommand("insert into reconciliation_runs (requested_by) select 'test' from generate_series(1, 6)"))
        {
            await request.ExecuteNonQueryAsync();
        }

        await Eventually.WaitAsync(async () =>
        {
            await using var cmd = DataSource.CreateCommand("select count(*) from reconciliation_runs where state = 'finished'");
            return (long)(await cmd.ExecuteScalarAsync())!;
        }, n => n == 6, TimeSpan.FromSeconds(30), "six finished runs");
        await using var check = DataSource.CreateCommand("select count(*) from reconciliation_runs where state <> 'finished' or started_at is null or finished_at < started_at");
        Assert.Equal(0L, await check.ExecuteScalarAsync());
    }

    [Fact]
    public async Task A_run_repairs_missing_drifted_and_orphaned_objects_through_the_outbox_and_the_next_run_finds_nothing()
    {
        await using var worker = await WorkerHost.StartAsync(Database, Simulator.BaseUrl.ToString(), settings: new Dictionary<string, string?>
        {
            ["Worker:Reconciliation:PollInterval"] = "00:00:00.100",
        });
        var kept = await Scenario.CreateNetworkAsync("kept");
        var subnet = await Scenario.CreateSubnetAsync(kept);
        var missing = await Scenario.CreateNetworkAsync("missing");
        var drifted = await Scenario.CreateNetworkAsync("drifted-here");
        var missingPort = await Scenario.CreatePortAsync(kept, subnet, "missing-port");
        var tampered = await Scenario.CreateNetworkAsync("tampered-here");
        await Scenario.WaitUntilDrainedAsync();

        (await Simulator.Admin.DeleteAsync($"_sim/objects/networks/{missing}")).EnsureSuccessStatusCode();
        (await Simulator.Admin.DeleteAsync($"_sim/objects/ports/{missingPort}")).EnsureSuccessStatusCode();
        (await Simulator.Admin.PutAsJsonAsync($"_sim/objects/networks/{drifted}", new { revision = 42, attributes = new { name = "drifted-there" } })).EnsureSuccessStatusCode();
        // Same revision, one attribute changed behind the system's back.
        var tamperedAttributes = (await Simulator.ListAsync("networks"))[tampered].Attributes;
        tamperedAttributes["name"] = "tampered-there";
        (await Simulator.Admin.PutAsJsonAsync($"_sim/objects/networks/{tampered}", new JsonObject { ["revision"] = 1, ["attributes"] = tamperedAttributes.DeepClone() })).EnsureSuccessStatusCode();
        // An orphan family: network ← subnet ← port, and a router with an interface on that subnet.
        var (orphanNet, orphanSubnet, orphanPort, orphanRouter, orphanIface) = (Guid.NewGuid(), Guid.NewGuid(), Guid.NewGuid(), Guid.NewGuid(), Guid.NewGuid());
        (await Simulator.Admin.PutAsJsonAsync($"_sim/objects/networks/{orphanNet}", new { revision = 3, attributes = new { name = "orphan" } })).EnsureSuccessStatusCode();
        (await Simulator.Admin.PutAsJsonAsync($"_sim/objects/subnets/{orphanSubnet}", new { revision = 1, attributes = new { network_id = orphanNet } })).EnsureSuccessStatusCode();
        (await Simulator.Admin.PutAsJsonAsync($"_sim/objects/ports/{orphanPort}",
            new { revision = 1, attributes = new { network_id = orphanNet, fixed_ips = new[] { new { subnet_id = orphanSubnet, ip_address = "10.9.0.5" } } } })).EnsureSuccessStatusCode();
        (await Simulator.Admin.PutAsJsonAsync($"_sim/objects/routers/{orphanRouter}", new { revision = 1, attributes = new { name = "orphan-router" } })).EnsureSuccessStatusCode();
        using (var attach = new HttpRequestMessage(HttpMethod.Put, $"v1/routers/{orphanRouter}/interfaces/{orphanIface}")
        {
            Content = JsonContent.Create(new { revision = 1, attributes = new { subnet_id = orphanSubnet, ip_address = "10.9.0.1" } }),
        })
        {
            attach.Headers.Add("X-Fencing-Token", "1");
            attach.Headers.Add("Idempotency-Key", Guid.NewGuid().ToString());
            (await Simulator.Admin.SendAsync(attach)).EnsureSuccessStatusCode();
        }

        var run = await RunReconciliationAsync();
        var findings = JsonNode.Parse(run.Findings)!.AsArray().Select(f => f!.AsObject()).ToList();
        Assert.Equal(
            new[]
            {
                ("missing_at_back_end", missing), ("missing_at_back_end", missingPort), ("orphan_at_back_end", orphanNet),
                ("orphan_at_back_end", orphanPort), ("orphan_at_back_end", orphanRouter), ("orphan_at_back_end", orphanSubnet),
                ("orphan_at_back_end", orphanIface),
                ("revision_drift", drifted), ("attribute_drift", tampered),
            }.OrderBy(f => f.Item1).ThenBy(f => f.Item2).ToList(),
            findings.Select(f => (f["kind"]!.GetValue<string>(), Guid.Parse(f["id"]!.GetValue<string>()))).OrderBy(f => f.Item1).ThenBy(f => f.Item2).ToList());
        Assert.All(findings, f => Assert.StartsWith("enqueued", f["repair"]!.GetValue<string>(), StringComparison.Ordinal));
        Assert.All(findings, f => Assert.NotNull(f["repair_seq"]));
        Assert.Equal(["name"], findings.Single(f => f["kind"]!.GetValue<string>() == "attribute_drift")["fields"]!.AsArray().Select(n => n!.GetValue<string>()));

        await Scenario.WaitUntilDrainedAsync();
        var networks = await Simulator.ListAsync("networks");
        Assert.Equal(2, networks[missing].Revision);
        Assert.Equal("missing", networks[missing].Attributes["name"]!.GetValue<string>());
        Assert.Equal(43, networks[drifted].Revision);
        Assert.Equal("drifted-here", networks[drifted].Attributes["name"]!.GetValue<string>());
        Assert.False(networks.ContainsKey(orphanNet));
        Assert.Equal((2L, "tampered-here"), (networks[tampered].Revision, networks[tampered].Attributes["name"]!.GetValue<string>()));
        Assert.Contains(missingPort, (await Simulator.ListAsync("ports")).Keys);
        Assert.DoesNotContain(orphanPort, (await Simulator.ListAsync("ports")).Keys);
        Assert.DoesNotContain(orphanSubnet, (await Simulator.ListAsync("subnets")).Keys);
        Assert.DoesNotContain(orphanRouter, (await Simulator.ListAsync("routers")).Keys);
        Assert.DoesNotContain(await Simulator.InterfacesAsync(), i => i.Router == orphanRouter);
        foreach (var (table, id) in new[] { ("networks", missing), ("networks", drifted), ("networks", tampered), ("ports", missingPort) })
        {
            var row = (await Scenario.ResourceAsync(table, id))!.Value;
            Assert.Equal(("ACTIVE", row.Revision), (row.Status, row.Applied));
        }
        Assert.All(await Simulator.ViolationsAsync(), v => Assert.Equal(0, v.Value));

        var again = await RunReconciliationAsync();
        Assert.Equal("[]", again.Findings.Replace(" ", "", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Router_interfaces_missing_drifted_moved_or_orphaned_at_the_back_end_are_repaired_and_one_attached_by_port_is_no_drift()
    {
        await using var worker = await WorkerHost.StartAsync(Database, Simulator.BaseUrl.ToString(), settings: new Dictionary<string, string?>
        {
            ["Worker:Reconciliation:PollInterval"] = "00:00:00.100",
        });
        var net = await Scenario.CreateNetworkAsync("iface-net");
        var subnets = new List<Guid>();
        for (var i = 0; i < 4; i++)
        {
            subnets.Add(await Scenario.CreateSubnetAsync(net));
        }
        var router = await Scenario.CreateRouterAsync("iface-router");
        var other = await Scenario.CreateRouterAsync("other-router");
        var missing = await Scenario.AddRouterInterfaceAsync(router, subnets[0], net);
        var drifted = await Scenario.AddRouterInterfaceAsync(router, subnets[1], net);
        var moved = await Scenario.AddRouterInterfaceAsync(router, subnets[3], net);
        // Attached by port: the back end also keeps the port object, at the revision before the attach.
        var byPort = await Scenario.CreatePortAsync(net, subnets[2], "by-port");
        await Scenario.WaitUntilDrainedAsync();
        await Scenario.AttachPortAsync(router, byPort, subnets[2], net);
        await Scenario.WaitUntilDrainedAsync();

        (await Simulator.Admin.DeleteAsync($"_sim/objects/interfaces/{missing}")).EnsureSuccessStatusCode();
        var driftedHeld = (await InterfacesOfAsync(router)).Single(i => i["port_id"]!.GetValue<string>() == drifted.ToString());
        // Out of band: another address, and the port's name changed on the interface the back end holds.
        var driftedAttributes = driftedHeld["attributes"]!.AsObject().DeepClone().AsObject();
        driftedAttributes["ip_address"] = "10.99.0.99";
        driftedAttributes["name"] = "renamed-out-of-band";
        (await Simulator.Admin.PutAsJsonAsync($"_sim/objects/interfaces/{drifted}", new JsonObject
        {
            ["router_id"] = router.ToString(), ["revision"] = driftedHeld["revision"]!.GetValue<long>(), ["attributes"] = driftedAttributes,
        })).EnsureSuccessStatusCode();
        // Moved out of band to another router, at a higher revision.
        (await Simulator.Admin.DeleteAsync($"_sim/objects/interfaces/{moved}")).EnsureSuccessStatusCode();
        await PutInterfaceAsync(moved, other, 7, subnets[3], "10.99.3.1");
        var orphan = Guid.NewGuid();
        await PutInterfaceAsync(orphan, router, 1, subnets[2], "10.99.0.1");

        var run = await RunReconciliationAsync();
        var findings = JsonNode.Parse(run.Findings)!.AsArray().Select(f => f!.AsObject()).ToDictionary(f => Guid.Parse(f["id"]!.GetValue<string>()));
        Assert.Equal(
            new[] { (missing, "missing_at_back_end"), (drifted, "attribute_drift"), (moved, "attribute_drift"), (orphan, "orphan_at_back_end") }.Order().ToList(),
            findings.Select(f => (f.Key, f.Value["kind"]!.GetValue<string>())).Order().ToList());
        Assert.All(findings.Values, f => Assert.Equal("router_interface", f["resource_type"]!.GetValue<string>()));
        Assert.All(findings.Values, f => Assert.NotNull(f["repair_seq"]));
        Assert.Equal(["ip_address", "name"], findings[drifted]["fields"]!.AsArray().Select(n => n!.GetValue<string>()));
        Assert.Equal(["router_id"], findings[moved]["fields"]!.AsArray().Select(n => n!.GetValue<string>()));
        Assert.Equal(other.ToString(), findings[moved]["back_end_router"]!.GetValue<string>());

        await Scenario.WaitUntilDrainedAsync();
        var held = (await InterfacesOfAsync(router)).ToDictionary(i => Guid.Parse(i["port_id"]!.GetValue<string>()));
        Assert.Equal(new[] { byPort, drifted, missing, moved }.Order(), held.Keys.Order());
        Assert.Empty(await InterfacesOfAsync(other));
        Assert.Equal(subnets[0].ToString(), held[missing]["attributes"]!["subnet_id"]!.GetValue<string>());
        Assert.NotEqual("10.99.0.99", held[drifted]["attributes"]!["ip_address"]!.GetValue<string>());
        Assert.Equal("", held[drifted]["attributes"]!["name"]!.GetValue<string>()); // the port's name, as Scenario made it
        Assert.Equal(8, held[moved]["revision"]!.GetValue<long>());
        foreach (var port in new[] { missing, drifted, byPort, moved })
        {
            var row = (await Scenario.ResourceAsync("ports", port))!.Value;
            Assert.Equal(("ACTIVE", row.Revision), (row.Status, row.Applied));
            Assert.Equal(row.Applied, held[port]["revision"]!.GetValue<long>());
        }
        Assert.All(await Simulator.ViolationsAsync(), v => Assert.Equal(0, v.Value));

        var again = await RunReconciliationAsync();
        Assert.Equal("[]", again.Findings.Replace(" ", "", StringComparison.Ordinal));
    }

    private async Task PutInterfaceAsync(Guid port, Guid router, long revision, Guid subnet, string address) =>
        (await Simulator.Admin.PutAsJsonAsync($"_sim/objects/interfaces/{port}", new JsonObject
        {
            ["router_id"] = router.ToString(), ["revision"] = revision,
            ["attributes"] = new JsonObject { ["subnet_id"] = subnet.ToString(), ["ip_address"] = address },
        })).EnsureSuccessStatusCode();

    private async Task<List<JsonObject>> InterfacesOfAsync(Guid router) =>
        (await Simulator.Admin.GetFromJsonAsync<JsonObject>($"v1/routers/{router}/interfaces"))!["items"]!.AsArray().Select(i => i!.AsObject()).ToList();

    private async Task<(string State, string Findings, string Summary)> RunReconciliationAsync()
    {
        long runId;
        await using (var request = DataSource.CreateCommand("insert into reconciliation_runs (requested_by) values ('test') returning id"))
        {
            runId = (long)(await request.ExecuteScalarAsync())!;
        }
        var run = await Eventually.WaitAsync(() => ReadRunAsync(runId), r => r.State is "finished" or "failed", TimeSpan.FromSeconds(60), "run to finish");
        Assert.Equal("finished", run.State);
        return run;
    }

    private async Task<(string State, string Findings, string Summary)> ReadRunAsync(long id)
    {
        await using var cmd = DataSource.CreateCommand("select state, findings::text, summary::text from reconciliation_runs where id = @id");
        cmd.Parameters.AddWithValue("id", id);
        await using var r = await cmd.ExecuteReaderAsync();
        await r.ReadAsync();
        return (r.GetString(0), r.GetString(1), r.GetString(2));
    }
}
