using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Npgsql;
using OutboxSync.System.Tests.Support;
using OutboxSync.Testing;
using Xunit;

namespace OutboxSync.System.Tests;

/// <summary>
/// The grants of migrations/009 are enough to run the system: API and workers connect as LOGIN users of
/// outboxsync_api and outboxsync_worker, and resource writes, the drain, the operator API, reconciliation with its
/// repairs and the clustered maintenance jobs all work. (What the roles must not do is pinned in Shared.Tests' DatabaseRolesTests.)
/// </summary>
[Collection(nameof(WholeStackCollection))]
public sealed class RestrictedRolesStackTests : IAsyncLifetime
{
    private static readonly StackToken Admin = new("roles-admin-token-0123456789", "admin-project", "admin", Admin: true);
    private RunningStack _stack = null!;
    private NpgsqlDataSource _owner = null!;
    private NeutronSession _neutron = null!;
    private HttpClient _simulator = null!;

    public async Task InitializeAsync()
    {
        _stack = await RunningStack.StartAsync([Admin]);
        _owner = _stack.Database.CreateDataSource();
        _neutron = new NeutronSession(_stack.ApiUrl, Admin.Value);
        _simulator = new HttpClient { BaseAddress = _stack.SimulatorUrl, Timeout = TimeSpan.FromSeconds(30) };
    }

    public async Task DisposeAsync()
    {
        _simulator.Dispose();
        _neutron.Dispose();
        await _owner.DisposeAsync();
        await _stack.DisposeAsync();
    }

    [Fact]
    public async Task Api_and_workers_running_as_the_restricted_roles_apply_every_change_and_run_operator_and_maintenance_work()
    {
        // A lease left behind by a replica that died: the lease-sweep job must remove it as the worker role.
        var departed = Guid.NewGuid();
        await ExecuteAsync("insert into resource_leases values (@id, 'departed-replica', nextval('fencing_tokens'), now() - interval '1 hour', now() - interval '1 minute')",
            departed);

        var network = await _neutron.CreateAsync("networks", "network", new JsonObject { ["name"] = "roles" });
        var subnet = await _neutron.CreateAsync("subnets", "subnet", new JsonObject { ["network_id"] = network, ["cidr"] = "10.40.0.0/24", ["ip_version"] = 4 });
        var port = await _neutron.CreateAsync("ports", "port", new JsonObject { ["network_id"] = network, ["name"] = "vm" });
        var router = await _neutron.CreateAsync("routers", "router", new JsonObject { ["name"] = "edge" });
        var interfacePort = (await _neutron.SendOkAsync(HttpMethod.Put, $"/v2.0/routers/{router}/add_router_interface",
            new JsonObject { ["subnet_id"] = subnet }))["port_id"]!.GetValue<string>();
        await _neutron.WaitForStatusAsync($"/v2.0/networks/{network}", "network", "ACTIVE");
        await _neutron.WaitForStatusAsync($"/v2.0/subnets/{subnet}", "subnet", "ACTIVE");
        await _neutron.WaitForStatusAsync($"/v2.0/ports/{port}", "port", "ACTIVE");
        await _neutron.WaitForStatusAsync($"/v2.0/routers/{router}", "router", "ACTIVE");
        await _neutron.WaitForStatusAsync($"/v2.0/ports/{interfacePort}", "port", "ACTIVE");
        Assert.Equal(router, (await BackendAsync($"v1/routers/{router}/interfaces"))!["items"]!.AsArray().Single()!["router_id"]!.GetValue<string>());

        // Updates: a rename, and a port moved to a fixed address (the API deletes and inserts its allocations).
        await _neutron.SendOkAsync(HttpMethod.Put, $"/v2.0/networks/{network}", new JsonObject { ["network"] = new JsonObject { ["name"] = "roles-renamed" } });
        await _neutron.SendOkAsync(HttpMethod.Put, $"/v2.0/ports/{port}", new JsonObject
        {
            ["port"] = new JsonObject { ["fixed_ips"] = new JsonArray(new JsonObject { ["subnet_id"] = subnet, ["ip_address"] = "10.40.0.50" }) },
        });
        await _neutron.WaitForStatusAsync($"/v2.0/networks/{network}", "network", "ACTIVE");
        await _neutron.WaitForStatusAsync($"/v2.0/ports/{port}", "port", "ACTIVE");
        Assert.Equal("roles-renamed", (await BackendAsync($"v1/networks/{network}"))!["attributes"]!["name"]!.GetValue<string>());
        Assert.Contains("10.40.0.50", (await BackendAsync($"v1/ports/{port}"))!["attributes"]!["fixed_ips"]!.ToJsonString(), StringComparison.Ordinal);

        // Drift at the back end, repaired by reconciliation through ordinary outbox entries the worker role writes:
        // a port lost there (re-created), an attribute changed there at the same revision (re-sent), and an
        // object only the back end has (deleted).
        var orphan = Guid.NewGuid().ToString();
        var revision = (await BackendAsync($"v1/networks/{network}"))!["revision"]!.GetValue<long>();
        (await _simulator.DeleteAsync($"_sim/objects/ports/{port}")).EnsureSuccessStatusCode();
        (await _simulator.PutAsJsonAsync($"_sim/objects/networks/{network}", new { revision, attributes = new { name = "drifted" } })).EnsureSuccessStatusCode();
        (await _simulator.PutAsJsonAsync($"_sim/objects/routers/{orphan}", new { revision = 1, attributes = new { name = "orphan" } })).EnsureSuccessStatusCode();

        await AssertOperatorApiAnswersAsync();
        await Eventually.WaitAsync(async () => (await BackendAsync($"v1/networks/{network}"))!["attributes"]!["name"]!.GetValue<string>(),
            name => name == "roles-renamed", TimeSpan.FromSeconds(90), "the drifted network to be re-sent");
        await Eventually.WaitAsync(() => BackendAsync($"v1/ports/{port}"), p => p is not null, TimeSpan.FromSeconds(90), "the lost port to be re-created");
        await Eventually.WaitAsync(() => BackendAsync($"v1/routers/{orphan}"), r => r is null, TimeSpan.FromSeconds(90), "the orphan router to be deleted");
        await _neutron.WaitForStatusAsync($"/v2.0/ports/{port}", "port", "ACTIVE");
        await _neutron.WaitForStatusAsync($"/v2.0/networks/{network}", "network", "ACTIVE");

        // Deletes: the worker removes the rows (and, by cascade, their addresses and interface) once confirmed.
        await _neutron.SendOkAsync(HttpMethod.Put, $"/v2.0/routers/{router}/remove_router_interface", new JsonObject { ["subnet_id"] = subnet });
        await _neutron.SendOkAsync(HttpMethod.Delete, $"/v2.0/ports/{port}");
        await _neutron.WaitForGoneAsync($"/v2.0/ports/{interfacePort}");
        await _neutron.WaitForGoneAsync($"/v2.0/ports/{port}");
        await _neutron.SendOkAsync(HttpMethod.Delete, $"/v2.0/routers/{router}");
        await _neutron.SendOkAsync(HttpMethod.Delete, $"/v2.0/networks/{network}");
        await _neutron.WaitForGoneAsync($"/v2.0/routers/{router}");
        await _neutron.WaitForGoneAsync($"/v2.0/subnets/{subnet}");
        await _neutron.WaitForGoneAsync($"/v2.0/networks/{network}");
        foreach (var path in new[] { $"v1/networks/{network}", $"v1/subnets/{subnet}", $"v1/ports/{port}", $"v1/ports/{interfacePort}", $"v1/routers/{router}" })
        {
            Assert.Null(await BackendAsync(path));
        }

        // The clustered maintenance jobs, each seen by its effect (or, for the read-only one, its fire count).
        await WaitForScalarAsync("select count(*) from resource_leases where holder = 'departed-replica'", 0, "the lease sweep");
        await WaitForScalarAsync("select count(*) from outbox_entries", 0, "retention to delete the finished entries");
        await WaitForScalarAsync("select count(*) from reconciliation_runs where requested_by = 'schedule' and state = 'finished'", 1,
            "a scheduled reconciliation to run", atLeast: true);
        await WaitForScalarAsync("select coalesce(max(times_triggered), 0) from qrtz_simple_triggers where trigger_name = 'stuck-work'", 2,
            "the stuck-work report to fire", atLeast: true);

        await _stack.StopAsync();
        var logs = _stack.Logs();
        // Npgsql reports insufficient_privilege (42501) as "permission denied for ..."; nothing may have hit one.
        Assert.DoesNotContain("permission denied", logs, StringComparison.OrdinalIgnoreCase);
    }

    private async Task AssertOperatorApiAnswersAsync()
    {
        // Retention (1 s window here) may already have deleted every finished entry, so only the shape is checked.
        Assert.NotNull((await _neutron.SendOkAsync(HttpMethod.Get, "/admin/v1/outbox"))["entries"]);
        var workers = (await _neutron.SendOkAsync(HttpMethod.Get, "/admin/v1/workers"))["workers"]!.AsArray();
        Assert.Equal(["stack-worker-1", "stack-worker-2"], workers.Select(w => w!["instance_id"]!.GetValue<string>()).Order());
        Assert.All(workers, w => Assert.NotNull(w!["leases_held"]));
        Assert.NotNull((await _neutron.SendOkAsync(HttpMethod.Get, "/admin/v1/leases"))["leases"]);
        // Retry and discard lock the entry FOR UPDATE before finding it missing: a 404, not a privilege error.
        foreach (var action in new[] { "retry", "discard" })
        {
            using var missing = await _neutron.SendAsync(HttpMethod.Post, $"/admin/v1/outbox/999999999/{action}");
            Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
        }

        using var requested = await _neutron.SendAsync(HttpMethod.Post, "/admin/v1/reconciliations");
        Assert.Equal(HttpStatusCode.Accepted, requested.StatusCode);
        var run = JsonNode.Parse(await requested.Content.ReadAsStringAsync())!["id"]!.GetValue<long>();
        var state = await Eventually.WaitAsync(async () =>
        {
            await using var cmd = _owner.CreateCommand("select state from reconciliation_runs where id = @id");
            cmd.Parameters.AddWithValue("id", run);
            return (string?)await cmd.ExecuteScalarAsync();
        }, s => s is "finished" or "failed", TimeSpan.FromSeconds(90), $"reconciliation {run} to finish");
        Assert.Equal("finished", state);
        // The latest run may be a newer scheduled one, in any state.
        Assert.NotNull((await _neutron.SendOkAsync(HttpMethod.Get, "/admin/v1/reconciliations/latest"))["reconciliation"]!["state"]);
        var audit = (await _neutron.SendOkAsync(HttpMethod.Get, "/admin/v1/audit"))["audit"]!.AsArray();
        Assert.Contains(audit, a => a!["action"]!.GetValue<string>() == "reconcile" && a["actor"]!.GetValue<string>() == "admin");
    }

    /// <summary>The simulator's stored object at <paramref name="path"/>, or null when it does not exist there.</summary>
    private async Task<JsonObject?> BackendAsync(string path)
    {
        using var response = await _simulator.GetAsync(path);
        if (response.StatusCode == HttpStatusCode.NotFound)
        {
            return null;
        }
        response.EnsureSuccessStatusCode();
        return JsonNode.Parse(await response.Content.ReadAsStringAsync())!.AsObject();
    }

    private async Task ExecuteAsync(string sql, Guid id)
    {
        await using var cmd = _owner.CreateCommand(sql);
        cmd.Parameters.AddWithValue("id", id);
        await cmd.ExecuteNonQueryAsync();
    }

    private Task WaitForScalarAsync(string sql, long expected, string what, bool atLeast = false) =>
        Eventually.WaitAsync(async () =>
        {
            await using var cmd = _owner.CreateCommand(sql);
            return Convert.ToInt64(await cmd.ExecuteScalarAsync(), global::System.Globalization.CultureInfo.InvariantCulture);
        }, n => atLeast ? n >= expected : n == expected, TimeSpan.FromSeconds(90), what);
}
