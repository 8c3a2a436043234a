using Microsoft.Extensions.Options;
using OutboxSync.Worker.Tests.Support;

namespace OutboxSync.Worker.Tests.Drain;

/// <summary>Drain behaviour with a real PostgreSQL and the in-process contract fake (for scripted faults).</summary>
public sealed class DrainTests : DatabaseBackedTests
{
    private readonly FakeBackend _backend = new();

    private Task<WorkerHost> StartWorkerAsync(IDictionary<string, string?>? settings = null) =>
        WorkerHost.StartAsync(Database, handler: _backend, settings: settings);

    [Fact]
    public async Task Entries_of_one_resource_are_applied_strictly_in_seq_order()
    {
        _backend.Latency = TimeSpan.FromMilliseconds(30);
        await using var worker = await StartWorkerAsync();
        var nets = new List<Guid>();
        for (var i = 0; i < 5; i++)
        {
            nets.Add(await Scenario.CreateNetworkAsync($"n{i}-v0"));
        }
        for (var v = 1; v <= 8; v++)
        {
            foreach (var net in nets)
            {
                await Scenario.UpdateNetworkAsync(net, $"v{v}");
            }
            await Eventually.WaitAsync(() => Task.FromResult(_backend.Calls.Count), n => n >= v, TimeSpan.FromSeconds(10), "some progress");
        }
        await Scenario.WaitUntilDrainedAsync();

        foreach (var net in nets)
        {
            var applied = _backend.CallsFor(net).Where(c => c.Status is >= 200 and < 300).Select(c => c.Revision!.Value).ToList();
            Assert.Equal(applied.OrderBy(r => r).Distinct(), applied);
            Assert.Equal(9, _backend.Revision(net));
            Assert.Equal("v8", _backend.Attributes(net)!["name"]!.GetValue<string>());
            var row = (await Scenario.ResourceAsync("networks", net))!.Value;
            Assert.Equal(("ACTIVE", 9L, 9L), (row.Status, row.Revision, row.Applied));
        }
        Assert.Empty(_backend.Violations);
    }

    [Fact]
    public async Task Twenty_rapid_updates_are_coalesced_into_far_fewer_calls_ending_at_the_last_state()
    {
        _backend.Latency = TimeSpan.FromMilliseconds(150);
        await using var worker = await StartWorkerAsync();
        var net = await Scenario.CreateNetworkAsync("v0");
        for (var v = 1; v <= 20; v++)
        {
            await Scenario.UpdateNetworkAsync(net, $"v{v}");
        }
        await Scenario.WaitUntilDrainedAsync();

        Assert.InRange(_backend.CallsFor(net).Count, 1, 5);
        Assert.Equal("v20", _backend.Attributes(net)!["name"]!.GetValue<string>());
        Assert.Equal(21, _backend.Revision(net));
        var entries = await Scenario.EntriesAsync(net);
        Assert.Equal(21, entries.Count);
        Assert.All(entries, e => Assert.Contains(e.State, new[] { "done", "superseded" }));
        Assert.Equal("done", entries[^1].State);
        Assert.Equal("ACTIVE", (await Scenario.ResourceAsync("networks", net))!.Value.Status);
    }

    [Fact]
    public async Task A_create_then_delete_never_sent_makes_no_calls_and_removes_the_row()
    {
        var net = await Scenario.CreateNetworkAsync("short-lived");
        await Scenario.UpdateNetworkAsync(net, "renamed");
        await Scenario.DeleteNetworkAsync(net);
        await using var worker = await StartWorkerAsync();
        await Scenario.WaitUntilDrainedAsync();

        Assert.Empty(_backend.Calls);
        Assert.Null(await Scenario.ResourceAsync("networks", net));
        Assert.Equal(["superseded", "superseded", "done"], (await Scenario.EntriesAsync(net)).Select(e => e.State));
    }

    [Fact]
    public async Task A_child_waits_blocked_without_spending_attempts_until_its_parent_is_created()
    {
        var failNetwork = 6;
        _backend.Fault = c => c.Collection == "networks" && Interlocked.Decrement(ref failNetwork) >= 0 ? (500, "boom") : null;
        var net = await Scenario.CreateNetworkAsync("parent");
        var subnet = await Scenario.CreateSubnetAsync(net);
        var port = await Scenario.CreatePortAsync(net, subnet);
        await using var worker = await StartWorkerAsync();

        var blocked = await Eventually.WaitAsync(() => Scenario.EntriesAsync(subnet), e => e[0].BlockedBy == net.ToString(), TimeSpan.FromSeconds(10), "subnet blocked by network");
        Assert.Equal(0, blocked[0].Attempts);
        await Scenario.WaitUntilDrainedAsync();

        var order = _backend.Calls.Where(c => c.Status is >= 200 and < 300).Select(c => c.ResourceId).ToList();
        Assert.True(order.IndexOf(net) < order.IndexOf(subnet));
        Assert.True(order.IndexOf(subnet) < order.IndexOf(port));
        Assert.Equal(0, (await Scenario.EntriesAsync(subnet))[0].Attempts);
        Assert.Null((await Scenario.EntriesAsync(subnet))[0].BlockedBy);
        Assert.Empty(_backend.Violations);
    }

    [Fact]
    public async Task A_parent_delete_waits_for_its_childrens_deletes()
    {
        await using var worker = await StartWorkerAsync();
        var net = await Scenario.CreateNetworkAsync("parent");
        var subnets = new[] { await Scenario.CreateSubnetAsync(net), await Scenario.CreateSubnetAsync(net) };
        var port = await Scenario.CreatePortAsync(net, subnets[0]);
        await Scenario.WaitUntilDrainedAsync();

        var failSubnetDeletes = 4;
        _backend.Fault = c => c.Collection == "subnets" && c.Method == "DELETE" && Interlocked.Decrement(ref failSubnetDeletes) >= 0 ? (503, "busy") : null;
        await Scenario.DeletePortAsync(port, net);
        await Scenario.DeleteNetworkAsync(net);
        await Scenario.WaitUntilDrainedAsync();

        var deletes = _backend.Calls.Where(c => c.Method == "DELETE" && c.Status == 204).Select(c => c.ResourceId).ToList();
        Assert.Equal(4, deletes.Count);
        Assert.Equal(net, deletes[^1]);
        Assert.False(_backend.Exists(net));
        Assert.Null(await Scenario.ResourceAsync("networks", net));
        Assert.Null(await Scenario.ResourceAsync("subnets", subnets[1]));
        Assert.Empty(_backend.Violations);
    }

    [Fact]
    public async Task A_parents_permanent_failure_fails_its_children_naming_the_parent()
    {
        _backend.Fault = c => c.Name == "doomed" ? (422, "rejected") : null;
        var net = await Scenario.CreateNetworkAsync("doomed");
        var subnet = await Scenario.CreateSubnetAsync(net);
        var port = await Scenario.CreatePortAsync(net, subnet);
        var healthy = await Scenario.CreateNetworkAsync("fine");
        await using var worker = await StartWorkerAsync();
        await Scenario.WaitUntilDrainedAsync();

        var parent = (await Scenario.ResourceAsync("networks", net))!.Value;
        Assert.Equal("ERROR", parent.Status);
        Assert.Contains("rejected", parent.Reason);
        foreach (var (table, id) in new[] { ("subnets", subnet), ("ports", port) })
        {
            var child = (await Scenario.ResourceAsync(table, id))!.Value;
            Assert.Equal("ERROR", child.Status);
            Assert.Contains(net.ToString(), child.Reason);
            Assert.Equal("failed", (await Scenario.EntriesAsync(id))[0].State);
        }
        Assert.Empty(_backend.CallsFor(subnet));
        Assert.Empty(_backend.CallsFor(port));
        Assert.Equal("ACTIVE", (await Scenario.ResourceAsync("networks", healthy))!.Value.Status);
    }

    [Fact]
    public async Task Transient_failures_are_retried_with_backoff_until_the_resource_is_active()
    {
        var failures = 4;
        _backend.Fault = _ => Interlocked.Decrement(ref failures) >= 0 ? (500, "internal") : null;
        var net = await Scenario.CreateNetworkAsync("flaky");
        await using var worker = await StartWorkerAsync();
        await Scenario.WaitUntilDrainedAsync();

        var entry = (await Scenario.EntriesAsync(net))[0];
        Assert.Equal("done", entry.State);
        Assert.Equal(2, entry.Attempts); // one in-call retry per step: 4 failures = 2 failed steps
        Assert.Equal(5, _backend.CallsFor(net).Count);
        Assert.Equal("ACTIVE", (await Scenario.ResourceAsync("networks", net))!.Value.Status);
    }

    [Fact]
    public async Task Exhausting_the_attempts_fails_the_entry_and_sets_error()
    {
        _backend.Fault = _ => (500, "internal");
        var net = await Scenario.CreateNetworkAsync("hopeless");
        await using var worker = await StartWorkerAsync(new Dictionary<string, string?> { ["Worker:Retry:MaxAttempts"] = "3" });
        await Scenario.WaitUntilDrainedAsync();

        var entry = (await Scenario.EntriesAsync(net))[0];
        Assert.Equal("failed", entry.State);
        Assert.Equal(2, entry.Attempts);
        Assert.Contains("gave up after 3 attempts", entry.LastError);
        Assert.Equal("ERROR", (await Scenario.ResourceAsync("networks", net))!.Value.Status);
    }

    [Fact]
    public async Task A_permanent_rejection_sets_error_with_the_back_ends_reason()
    {
        _backend.Fault = c => c.Name == "bad name" ? (422, "rejected") : null;
        var net = await Scenario.CreateNetworkAsync("ok");
        await using var worker = await StartWorkerAsync();
        await Scenario.WaitUntilDrainedAsync();
        await Scenario.UpdateNetworkAsync(net, "bad name");
        await Scenario.WaitUntilDrainedAsync();

        var row = (await Scenario.ResourceAsync("networks", net))!.Value;
        Assert.Equal("ERROR", row.Status);
        Assert.Contains("422", row.Reason);
        Assert.Contains("rejected by fake", row.Reason);
        Assert.Equal(1, row.Applied);
        var entries = await Scenario.EntriesAsync(net);
        Assert.Equal(("failed", 0), (entries[1].State, entries[1].Attempts));
        Assert.Single(_backend.CallsFor(net), c => c.Status == 422);
    }

    [Fact]
    public async Task Renames_folded_into_a_rejected_rename_are_superseded_and_only_the_sent_one_fails()
    {
        _backend.Fault = c => c.Name == "bad name" ? (422, "rejected") : null;
        var net = await Scenario.CreateNetworkAsync("ok");
        var worker = await StartWorkerAsync();
        await Scenario.WaitUntilDrainedAsync();
        await worker.DisposeAsync();
        await Scenario.UpdateNetworkAsync(net, "first");
        await Scenario.UpdateNetworkAsync(net, "second");
        await Scenario.UpdateNetworkAsync(net, "bad name");

        await using var again = await StartWorkerAsync();
        await Scenario.WaitUntilDrainedAsync();

        var entries = await Scenario.EntriesAsync(net);
        Assert.Equal(["done", "superseded", "superseded", "failed"], entries.Select(e => e.State));
        Assert.All(entries.Skip(1).Take(2), e => Assert.Contains($"carried by entry {entries[3].Seq}, which failed", e.LastError));
        Assert.Single(_backend.CallsFor(net), c => c.Status == 422);
        Assert.Equal("ERROR", (await Scenario.ResourceAsync("networks", net))!.Value.Status);
    }

    [Fact]
    public async Task An_outage_spends_no_attempts_and_the_drain_resumes_when_it_ends()
    {
        _backend.Outage = true;
        var nets = new[] { await Scenario.CreateNetworkAsync("a"), await Scenario.CreateNetworkAsync("b"), await Scenario.CreateNetworkAsync("c") };
        await using var worker = await StartWorkerAsync(new Dictionary<string, string?> { ["Worker:Retry:MaxAttempts"] = "2" });

        await Eventually.WaitAsync(() => Task.FromResult(_backend.Calls.Count(c => c.Status == 503)), n => n >= 9, TimeSpan.FromSeconds(20), "outage answers");
        foreach (var net in nets)
        {
            var entry = (await Scenario.EntriesAsync(net))[0];
            Assert.Equal(("pending", 0), (entry.State, entry.Attempts));
        }
        _backend.Outage = false;
        await Scenario.WaitUntilDrainedAsync();

        foreach (var net in nets)
        {
            Assert.Equal(("done", 0), ((await Scenario.EntriesAsync(net))[0].State, (await Scenario.EntriesAsync(net))[0].Attempts));
            Assert.Equal("ACTIVE", (await Scenario.ResourceAsync("networks", net))!.Value.Status);
        }
    }

    [Fact]
    public async Task A_poisoned_entry_goes_to_error_and_other_entries_proceed()
    {
        var poisoned = await Scenario.CreateNetworkAsync("poisoned");
        await Scenario.AppendRawAsync("network", poisoned, "update", 2, "\"not an object\"", []);
        await Scenario.UpdateNetworkAsync(poisoned, "recovered");
        var router = await Scenario.CreateRouterAsync();
        var badInterfacePort = Guid.NewGuid();
        await Scenario.AppendRawAsync("port", badInterfacePort, "add_interface", 1, """{"subnet_id":"nope"}""", [router]);
        var healthy = await Scenario.CreateNetworkAsync("healthy");
        await using var worker = await StartWorkerAsync();
        await Scenario.WaitUntilDrainedAsync();

        var entries = await Scenario.EntriesAsync(poisoned);
        Assert.Equal("failed", entries[1].State);
        Assert.Contains("poisoned entry", entries[1].LastError);
        Assert.Equal("done", entries[2].State);
        Assert.Equal("recovered", _backend.Attributes(poisoned)!["name"]!.GetValue<string>());
        Assert.Equal("failed", (await Scenario.EntriesAsync(badInterfacePort))[0].State);
        Assert.Equal("ACTIVE", (await Scenario.ResourceAsync("networks", healthy))!.Value.Status);
        Assert.Equal("ACTIVE", (await Scenario.ResourceAsync("routers", router))!.Value.Status);
    }

    [Fact]
    public async Task While_back_end_calls_take_a_second_no_transaction_stays_open()
    {
        _backend.Latency = TimeSpan.FromSeconds(1);
        for (var i = 0; i < 8; i++)
        {
            var net = await Scenario.CreateNetworkAsync($"slow{i}");
            await Scenario.UpdateNetworkAsync(net, $"slow{i}-b");
        }
        await using var worker = await StartWorkerAsync();

        var samples = 0;
        var offenders = new List<string>();
        await using var sampler = Database.CreateDataSource();
        while (await Scenario.PendingCountAsync() > 0)
        {
            await using var cmd = sampler.CreateCommand("""
                select state || ' for ' || (clock_timestamp() - xact_start)::text || ': ' || left(query, 80)
                from pg_stat_activity
                where datname = current_database() and pid <> pg_backend_pid() and backend_type = 'client backend'
                  -- Npgsql's one-off type loading on a new pooled connection is not drain work; on a loaded
                  -- machine it alone can exceed 100 ms.
                  and query not like 'SELECT version();%'
                  -- Any idle-in-transaction session is an offender; a running one only past half the device latency:
                  -- a transaction held across a call lasts >= 1 s, while one statement on a loaded CI box can take 100+ ms.
                  and (state like 'idle in transaction%' or clock_timestamp() - xact_start > interval '500 milliseconds')
                """);
            await using var r = await cmd.ExecuteReaderAsync();
            while (await r.ReadAsync())
            {
                offenders.Add(r.GetString(0));
            }
            samples++;
            Assert.True(samples < 5000, "drain did not finish");
        }

        Assert.True(samples > 20, $"only {samples} samples taken");
        Assert.True(_backend.Calls.Count >= 8);
        Assert.Empty(offenders);
    }

    [Fact]
    public async Task A_stale_token_answer_abandons_the_resource_without_counting_a_failure()
    {
        var once = 1;
        _backend.Fault = _ => Interlocked.Decrement(ref once) >= 0 ? (409, "stale_token") : null;
        var net = await Scenario.CreateNetworkAsync("fenced");
        await using var worker = await StartWorkerAsync();
        await Scenario.WaitUntilDrainedAsync();

        var entry = (await Scenario.EntriesAsync(net))[0];
        Assert.Equal(("done", 0), (entry.State, entry.Attempts));
        var tokens = _backend.CallsFor(net).Select(c => c.Token).ToList();
        Assert.Equal(2, tokens.Count);
        Assert.True(tokens[1] > tokens[0]);
    }

    [Fact]
    public async Task A_router_interface_is_added_after_its_router_and_subnet_and_removal_deletes_the_port_row()
    {
        await using var worker = await StartWorkerAsync();
        var net = await Scenario.CreateNetworkAsync();
        var subnet = await Scenario.CreateSubnetAsync(net);
        var router = await Scenario.CreateRouterAsync();
        var port = await Scenario.AddRouterInterfaceAsync(router, subnet, net);
        await Scenario.WaitUntilDrainedAsync();
        Assert.Equal(("ACTIVE", 1L), ((await Scenario.ResourceAsync("ports", port))!.Value.Status, (await Scenario.ResourceAsync("ports", port))!.Value.Applied));
        Assert.Contains(_backend.CallsFor(port), c => c.Collection == "interfaces" && c.Method == "PUT" && c.Status == 201);
        Assert.True(_backend.HasInterface(router, port));

        await Scenario.RemoveRouterInterfaceAsync(router, port, subnet, net);
        await Scenario.WaitUntilDrainedAsync();

        Assert.Null(await Scenario.ResourceAsync("ports", port));
        Assert.Contains(_backend.CallsFor(port), c => c.Collection == "interfaces" && c.Method == "DELETE" && c.Status == 204);
        Assert.False(_backend.HasInterface(router, port));
        Assert.Empty(_backend.Violations);
    }

    [Fact]
    public async Task Stopping_lets_the_in_flight_call_finish_then_releases_leases_and_deregisters()
    {
        _backend.Latency = TimeSpan.FromSeconds(1.5);
        var net = await Scenario.CreateNetworkAsync("in-flight");
        var worker = await StartWorkerAsync();
        var inFlight = new TaskCompletionSource();
        _backend.OnRequest = _ => inFlight.TrySetResult();
        await inFlight.Task.WaitAsync(TimeSpan.FromSeconds(10));

        await worker.DisposeAsync();

        Assert.Equal("done", (await Scenario.EntriesAsync(net))[0].State);
        await using var leases = DataSource.CreateCommand("select (select count(*) from resource_leases) + (select count(*) from worker_replicas)");
        Assert.Equal(0L, await leases.ExecuteScalarAsync());
    }

    [Fact]
    public async Task Two_replicas_share_the_outbox_without_ever_overlapping_on_a_resource()
    {
        _backend.Latency = TimeSpan.FromMilliseconds(20);
        await using var a = await StartWorkerAsync(new Dictionary<string, string?> { ["Worker:InstanceId"] = "replica-a", ["Worker:MaxInFlight"] = "8" });
        await using var b = await StartWorkerAsync(new Dictionary<string, string?> { ["Worker:InstanceId"] = "replica-b", ["Worker:MaxInFlight"] = "8" });
        var nets = new List<Guid>();
        for (var i = 0; i < 30; i++)
        {
            nets.Add(await Scenario.CreateNetworkAsync($"n{i}"));
        }
        for (var v = 0; v < 3; v++)
        {
            foreach (var net in nets)
            {
                await Scenario.UpdateNetworkAsync(net, $"n-v{v}");
            }
        }
        await Scenario.WaitUntilDrainedAsync();

        Assert.Empty(_backend.Violations);
        Assert.True(a.Pass.Totals.Applied > 0 && b.Pass.Totals.Applied > 0, $"a={a.Pass.Totals} b={b.Pass.Totals}");
        await using var replicas = DataSource.CreateCommand("select string_agg(instance_id, ',' order by instance_id) from worker_replicas");
        Assert.Equal("replica-a,replica-b", await replicas.ExecuteScalarAsync());
        Assert.All(nets, n => Assert.Equal(4, _backend.Revision(n)));
    }

    [Fact]
    public async Task A_deep_backlog_is_claimed_ahead_and_the_claimed_resources_wait_for_a_slot_without_another_claim()
    {
        _backend.Latency = TimeSpan.FromSeconds(1);
        var nets = new List<Guid>();
        for (var i = 0; i < 10; i++)
        {
            nets.Add(await Scenario.CreateNetworkAsync($"deep-{i}"));
        }
        await using (var replica = TwoSlotsClaimingThreeAhead())
        {
            var pass = replica.Pass;
            // More was due than the free slots: the backlog is deep.
            Assert.Equal((2, 2, 2), Counts(await pass.RunOnceAsync()));
            await Eventually.HoldsAsync(() => Task.FromResult(pass.Waiting == 0), "both drains to hold a slot");
            // Three more are claimed ahead of the busy slots, and wait for them.
            Assert.Equal((3, 3, 3), Counts(await pass.RunOnceAsync()));
            Assert.Equal(5, pass.InFlight);
            // While they wait, a pass makes no claim: they feed the slots as they free up.
            Assert.Equal((0, 0, 0), Counts(await pass.RunOnceAsync()));
            await pass.WhenIdleAsync().WaitAsync(TimeSpan.FromSeconds(20));

            Assert.Equal(5, _backend.Calls.Count);
            Assert.True(_backend.MaxConcurrent <= 2, $"at most MaxInFlight calls at once, saw {_backend.MaxConcurrent}");
            Assert.Equal(5, nets.Count(n => _backend.Exists(n)));
        }
    }

    [Fact]
    public async Task A_shallow_backlog_is_claimed_for_free_slots_only()
    {
        _backend.Latency = TimeSpan.FromSeconds(1);
        await Scenario.CreateNetworkAsync("alone");
        await using (var replica = TwoSlotsClaimingThreeAhead())
        {
            var pass = replica.Pass;
            // One due for two free slots: nothing more is waiting.
            Assert.Equal((2, 1, 1), Counts(await pass.RunOnceAsync()));
            for (var i = 0; i < 4; i++)
            {
                await Scenario.CreateNetworkAsync($"later-{i}");
            }
            await Eventually.HoldsAsync(() => Task.FromResult(pass.Waiting == 0), "the drain to hold a slot");
            // One slot is free and nothing is claimed ahead of the busy one, so no resource waits behind it here
            // while another replica could take it.
            Assert.Equal((1, 1, 1), Counts(await pass.RunOnceAsync()));
            await pass.WhenIdleAsync().WaitAsync(TimeSpan.FromSeconds(20));
        }
    }

    // Not started: the tests drive the passes themselves.
    private WorkerHost TwoSlotsClaimingThreeAhead() => WorkerHost.Build(Database, handler: _backend, settings: new Dictionary<string, string?>
    {
        ["Worker:MaxInFlight"] = "2",
        ["Worker:ClaimAhead"] = "3",
    });

    private static (int Requested, int Due, int Acquired) Counts(OutboxSync.Worker.Drain.DrainResult r) => (r.Requested, r.Due, r.Acquired);

    [Fact]
    public async Task A_claim_into_a_backlog_the_planner_cannot_see_has_the_outbox_analysed()
    {
        await Scenario.AnalyseOutboxAsDrainedAsync();
        // A burst of creates onto the drained, analysed outbox.
        await using (var burst = DataSource.CreateCommand("""
            with nets as (
                insert into networks (id, project_id, name, status, revision_number, created_at, updated_at)
                select gen_random_uuid(), 'p1', 'burst', 'PENDING_CREATE', 1, now(), now() from generate_series(1, 1500)
                returning id)
            insert into outbox_entries (resource_type, resource_id, operation, revision, payload, project_id)
            select 'network', id, 'create', 1, jsonb_build_object('id', id, 'name', 'burst'), 'p1' from nets
            """))
        {
            await burst.ExecuteNonQueryAsync();
        }
        var statistics = new OutboxSync.Outbox.OutboxStatistics(DataSource);
        var replica = TwoSlotsClaimingThreeAhead();
        await using (replica)
        {
            var pass = replica.Pass;
            Assert.True((await pass.RunOnceAsync()).Saturated);
            await pass.StatisticsCheck.WaitAsync(TimeSpan.FromSeconds(30));

            // The pass's check analysed the table: the planner now sees the backlog, so a check finds nothing to do.
            var after = await statistics.RefreshAsync();
            Assert.False(after.Analysed);
            Assert.True(after.Estimated * 4 >= after.Pending, $"{after}");
            await pass.StopAsync(TimeSpan.FromSeconds(5));
        }
    }

    [Fact]
    public async Task The_statistics_check_is_off_when_its_interval_is_zero()
    {
        await Scenario.AnalyseOutboxAsDrainedAsync();
        for (var i = 0; i < 3; i++)
        {
            await Scenario.CreateNetworkAsync($"n{i}");
        }
        await using (var burst = DataSource.CreateCommand("""
            insert into outbox_entries (resource_type, resource_id, operation, revision, payload, project_id, state)
            select 'network', gen_random_uuid(), 'create', 1, '{}', 'p1', 'pending' from generate_series(1, 1500)
            """))
        {
            await burst.ExecuteNonQueryAsync();
        }
        var replica = WorkerHost.Build(Database, handler: _backend, settings: new Dictionary<string, string?>
        {
            ["Worker:MaxInFlight"] = "2",
            ["Worker:ClaimAhead"] = "0",
            ["Worker:StatisticsCheckInterval"] = "00:00:00",
        });
        await using (replica)
        {
            Assert.True((await replica.Pass.RunOnceAsync()).Saturated);
            Assert.True(replica.Pass.StatisticsCheck.IsCompleted);
            Assert.True((await new OutboxSync.Outbox.OutboxStatistics(DataSource).RefreshAsync()).Analysed);
            await replica.Pass.StopAsync(TimeSpan.FromSeconds(5));
        }
    }

    [Fact]
    public async Task A_call_outliving_the_leases_trust_window_is_cut_off_and_writes_nothing()
    {
        _backend.Latency = TimeSpan.FromSeconds(5);
        var requested = new TaskCompletionSource();
        _backend.OnRequest = _ => requested.TrySetResult();
        var net = await Scenario.CreateNetworkAsync("slow");
        // Not started: no heartbeat renews the lease, as if the database were unreachable from this replica.
        var replica = WorkerHost.Build(Database, handler: _backend, settings: new Dictionary<string, string?>
        {
            ["Leases:Duration"] = "00:00:01.500",
            ["Leases:SafetyMargin"] = "00:00:00.500",
            ["Backend:AttemptTimeout"] = "00:00:10",
        });
        await using (replica)
        {
            var pass = replica.Pass;
            var started = DateTime.UtcNow;
            Assert.Equal(1, (await pass.RunOnceAsync()).Acquired);
            await requested.Task.WaitAsync(TimeSpan.FromSeconds(10));
            await pass.WhenIdleAsync().WaitAsync(TimeSpan.FromSeconds(10));

            Assert.InRange(DateTime.UtcNow - started, TimeSpan.FromMilliseconds(900), TimeSpan.FromSeconds(4.9));
            Assert.Empty(_backend.Calls); // the request was abandoned before the back end answered
            var entry = (await Scenario.EntriesAsync(net))[0];
            Assert.Equal(("pending", 0), (entry.State, entry.Attempts));
            Assert.Equal("PENDING_CREATE", (await Scenario.ResourceAsync("networks", net))!.Value.Status);
        }
    }

    [Fact]
    public async Task A_timed_out_call_keeps_its_lease_until_expiry_so_nothing_is_sent_beside_it()
    {
        _backend.Latency = TimeSpan.FromSeconds(3);
        var net = await Scenario.CreateNetworkAsync("hung");
        var replica = WorkerHost.Build(Database, handler: _backend, settings: new Dictionary<string, string?>
        {
            ["Backend:AttemptTimeout"] = "00:00:00.300",
            ["Leases:Duration"] = "00:00:30",
            ["Leases:SafetyMargin"] = "00:00:05",
            ["Worker:Retry:BaseDelay"] = "00:00:00.010",
        });
        await using (replica)
        {
            var pass = replica.Pass;
            Assert.Equal(1, (await pass.RunOnceAsync()).Acquired);
            await pass.WhenIdleAsync().WaitAsync(TimeSpan.FromSeconds(10));

            // The abandoned call may still run at the back end: the lease is not released, so even though the
            // entry is due again, no pass (of any replica) takes the resource before the lease runs out.
            var entry = (await Scenario.EntriesAsync(net))[0];
            Assert.Equal(("pending", 1), (entry.State, entry.Attempts));
            Assert.Contains("timed out", entry.LastError, StringComparison.Ordinal);
            await using (var lease = Scenario.Db.CreateCommand("select expires_at > now() + interval '20 seconds' from resource_leases where resource_id = @id"))
            {
                lease.Parameters.AddWithValue("id", net);
                Assert.Equal(true, await lease.ExecuteScalarAsync());
            }
            await using (var due = Scenario.Db.CreateCommand("update outbox_entries set next_attempt_at = now() where resource_id = @id"))
            {
                due.Parameters.AddWithValue("id", net);
                await due.ExecuteNonQueryAsync();
            }
            Assert.Equal(0, (await pass.RunOnceAsync()).Acquired);
        }
    }

    [Fact]
    public async Task An_old_failed_entry_requeued_by_an_operator_never_moves_the_back_end_backwards()
    {
        _backend.Fault = c => c.Name == "bad" ? (422, "rejected") : null;
        await using var worker = await StartWorkerAsync();
        var net = await Scenario.CreateNetworkAsync("v1");
        await Scenario.WaitUntilDrainedAsync();
        var failedSeq = await Scenario.UpdateNetworkAsync(net, "bad");
        await Scenario.WaitUntilDrainedAsync();
        await Scenario.UpdateNetworkAsync(net, "good");
        await Scenario.WaitUntilDrainedAsync();
        var callsBefore = _backend.Calls.Count;

        // What the operator API's retry does to a failed entry.
        await using (var retry = DataSource.CreateCommand("update outbox_entries set state = 'pending', attempts = 0, next_attempt_at = now(), last_error = null, completed_at = null where seq = @seq"))
        {
            retry.Parameters.AddWithValue("seq", failedSeq);
            await retry.ExecuteNonQueryAsync();
        }
        await Scenario.WaitUntilDrainedAsync();

        Assert.True(callsBefore == _backend.Calls.Count, string.Join("\n", _backend.Calls.Select(c => c.ToString())));
        Assert.Equal("superseded", (await Scenario.EntriesAsync(net)).Single(e => e.Seq == failedSeq).State);
        Assert.Equal(("good", 3L), (_backend.Attributes(net)!["name"]!.GetValue<string>(), _backend.Revision(net)!.Value));
        Assert.Equal("ACTIVE", (await Scenario.ResourceAsync("networks", net))!.Value.Status);
    }

    [Fact]
    public async Task Calls_carry_the_fencing_token_a_stable_idempotency_key_and_the_entrys_traceparent()
    {
        const string traceParent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
        var failOnce = 1;
        _backend.Fault = _ => Interlocked.Decrement(ref failOnce) >= 0 ? (503, "injected") : null;
        var net = await Scenario.CreateNetworkAsync("traced");
        await using (var cmd = DataSource.CreateCommand("update outbox_entries set trace_parent = @tp where resource_id = @id"))
        {
            cmd.Parameters.AddWithValue("tp", traceParent);
            cmd.Parameters.AddWithValue("id", net);
            await cmd.ExecuteNonQueryAsync();
        }
        await using var worker = await StartWorkerAsync();
        await Scenario.WaitUntilDrainedAsync();

        await using (var keyOf = DataSource.CreateCommand("select idempotency_key from outbox_entries where resource_id = @id"))
        {
            keyOf.Parameters.AddWithValue("id", net);
            var key = ((Guid)(await keyOf.ExecuteScalarAsync())!).ToString();
            var calls = _backend.CallsFor(net);
            Assert.Equal(2, calls.Count); // the injected failure, then the in-call retry
            Assert.All(calls, c => Assert.Equal((key, traceParent), (c.Key, c.TraceParent)));
        }
        Assert.Single(_backend.CallsFor(net).Select(c => c.Token).Distinct());
        await using var lease = DataSource.CreateCommand("select last_value from fencing_tokens");
        Assert.True(_backend.CallsFor(net)[0].Token <= (long)(await lease.ExecuteScalarAsync())!);
    }

    [Fact]
    public async Task Killed_database_sessions_mid_drain_delay_but_never_corrupt_the_outcome()
    {
        _backend.Latency = TimeSpan.FromMilliseconds(40);
        var nets = new List<Guid>();
        for (var i = 0; i < 20; i++)
        {
            var net = await Scenario.CreateNetworkAsync($"t{i}");
            await Scenario.UpdateNetworkAsync(net, $"t{i}-b");
            nets.Add(net);
        }
        await using var worker = await StartWorkerAsync(new Dictionary<string, string?>
        {
            ["Leases:Duration"] = "00:00:03",
            ["Leases:SafetyMargin"] = "00:00:01",
            ["Worker:MaxInFlight"] = "4",
        });

        // Terminate every session of the worker (pool, heartbeat, LISTEN) a few times while it drains.
        using var cadence = new PeriodicTimer(TimeSpan.FromMilliseconds(150));
        for (var round = 0; round < 6; round++)
        {
            await cadence.WaitForNextTickAsync();
            await using var kill = DataSource.CreateCommand(
                "select count(pg_terminate_backend(pid)) from pg_stat_activity where datname = current_database() and pid <> pg_backend_pid() and backend_type = 'client backend'");
            await kill.ExecuteScalarAsync();
        }
        await Scenario.WaitUntilDrainedAsync(TimeSpan.FromSeconds(60));

        Assert.Empty(_backend.Violations);
        foreach (var net in nets)
        {
            Assert.Equal(2, _backend.Revision(net));
            Assert.Equal(("ACTIVE", 2L), ((await Scenario.ResourceAsync("networks", net))!.Value.Status, (await Scenario.ResourceAsync("networks", net))!.Value.Applied));
        }
    }

    [Fact]
    public async Task A_worker_without_a_back_end_url_fails_at_start_naming_the_setting()
    {
        var host = WorkerHost.Build(Database, baseUrl: "");
        var error = await Assert.ThrowsAsync<OptionsValidationException>(() => host.Host.StartAsync());
        Assert.Contains("Backend:BaseUrl is required", error.Message);
        host.Host.Dispose();
    }
}
