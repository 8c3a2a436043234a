using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using OutboxSync.Worker.Tests.Support;

namespace OutboxSync.Worker.Tests.EndToEnd;

/// <summary>
/// The whole path with nothing faked: Neutron calls to the real API process, its outbox drained by two worker
/// replicas, applied to the real simulator process. Pins the API ⇄ worker contract (payloads, depends_on,
/// interface and cascade-delete shapes), not just the worker against hand-written entries.
/// </summary>
[Collection(nameof(EndToEndCollection))]
public sealed class ApiToBackEndTests : SimulatorBackedTests
{
    private const string Token = "worker-e2e-admin-token-0123456789";
    private ServiceProcess _api = null!;
    private HttpClient _neutron = null!;

    protected override async Task SetUpAsync()
    {
        await base.SetUpAsync();
        _api = await ServiceProcess.StartAsync("Api", new Dictionary<string, string>
        {
            ["Database__ConnectionString"] = Database.ConnectionString,
            ["Auth__Tokens__0__Sha256"] = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(Token))),
            ["Auth__Tokens__0__ProjectId"] = "e2e-project",
            ["Auth__Tokens__0__Roles__0"] = "admin",
            ["Logging__LogLevel__Default"] = "Warning",
        });
        _neutron = new HttpClient { BaseAddress = new Uri(_api.Url + "/v2.0/") };
        _neutron.DefaultRequestHeaders.Add("X-Auth-Token", Token);
    }

    protected override async Task TearDownAsync()
    {
        _neutron.Dispose();
        await _api.DisposeAsync();
        await base.TearDownAsync();
    }

    [Fact]
    public async Task Resources_made_through_the_api_reach_the_back_end_and_become_active_with_zero_violations()
    {
        await Simulator.SetFaultsAsync(new { latency_min_ms = 1, latency_max_ms = 20, failure_rate = 0.05, failure_after_apply_rate = 0.05 });
        await using var a = await WorkerHost.StartAsync(Database, Simulator.BaseUrl.ToString(), settings: new Dictionary<string, string?> { ["Worker:InstanceId"] = "api-e2e-a" });
        await using var b = await WorkerHost.StartAsync(Database, Simulator.BaseUrl.ToString(), settings: new Dictionary<string, string?> { ["Worker:InstanceId"] = "api-e2e-b" });

        var kept = await CreateAsync("networks", "network", new JsonObject { ["name"] = "kept" });
        var keptSubnet = await CreateAsync("subnets", "subnet", new JsonObject { ["network_id"] = kept, ["cidr"] = "10.10.0.0/24", ["ip_version"] = 4 });
        var port = await CreateAsync("ports", "port", new JsonObject { ["network_id"] = kept, ["name"] = "vm" });
        var doomedPort = await CreateAsync("ports", "port", new JsonObject { ["network_id"] = kept, ["name"] = "short" });
        var router = await CreateAsync("routers", "router", new JsonObject { ["name"] = "r" });
        var interfacePort = (await SendAsync(HttpMethod.Put, $"routers/{router}/add_router_interface", new JsonObject { ["subnet_id"] = keptSubnet }))["port_id"]!.GetValue<string>();
        for (var i = 1; i <= 5; i++)
        {
            await SendAsync(HttpMethod.Put, $"networks/{kept}", new JsonObject { ["network"] = new JsonObject { ["name"] = $"kept-v{i}" } });
        }
        await SendAsync(HttpMethod.Put, $"ports/{port}", new JsonObject { ["port"] = new JsonObject { ["name"] = "vm-renamed" } });
        await SendAsync(HttpMethod.Delete, $"ports/{doomedPort}", null);

        var gone = await CreateAsync("networks", "network", new JsonObject { ["name"] = "gone" });
        await CreateAsync("subnets", "subnet", new JsonObject { ["network_id"] = gone, ["cidr"] = "10.20.0.0/24", ["ip_version"] = 4 });
        await WaitForStatusAsync($"networks/{gone}", "network", "ACTIVE");
        await SendAsync(HttpMethod.Delete, $"networks/{gone}", null); // the API cascades the subnet's delete

        await WaitForStatusAsync($"networks/{kept}", "network", "ACTIVE");
        await WaitForStatusAsync($"ports/{port}", "port", "ACTIVE");
        await WaitForStatusAsync($"ports/{interfacePort}", "port", "ACTIVE");
        await WaitForStatusAsync($"routers/{router}", "router", "ACTIVE");
        await WaitForGoneAsync($"ports/{doomedPort}");
        await WaitForGoneAsync($"networks/{gone}");
        await Scenario.WaitUntilDrainedAsync(TimeSpan.FromSeconds(60));

        Assert.All(await Simulator.ViolationsAsync(), v => Assert.True(v.Value == 0, $"{v.Key} = {v.Value}"));
        var networks = await Simulator.ListAsync("networks");
        Assert.Equal([Guid.Parse(kept)], networks.Keys);
        Assert.Equal("kept-v5", networks[Guid.Parse(kept)].Attributes["name"]!.GetValue<string>());
        Assert.Equal(["vm-renamed"], (await Simulator.ListAsync("ports")).Values.Select(p => p.Attributes["name"]!.GetValue<string>()));
        Assert.Single(await Simulator.ListAsync("subnets"));
        Assert.Equal([(Guid.Parse(router), Guid.Parse(interfacePort))], (await Simulator.InterfacesAsync()).Select(i => (i.Router, i.Port)));
        await using var failed = DataSource.CreateCommand("select count(*) from outbox_entries where state = 'failed'");
        Assert.Equal(0L, await failed.ExecuteScalarAsync());
    }

    [Fact]
    public async Task An_interface_made_from_an_existing_port_is_removed_with_its_port_so_the_subnet_can_go()
    {
        await using var worker = await WorkerHost.StartAsync(Database, Simulator.BaseUrl.ToString());
        var net = await CreateAsync("networks", "network", new JsonObject { ["name"] = "n" });
        var subnet = await CreateAsync("subnets", "subnet", new JsonObject { ["network_id"] = net, ["cidr"] = "10.30.0.0/24", ["ip_version"] = 4 });
        var port = await CreateAsync("ports", "port", new JsonObject { ["network_id"] = net, ["name"] = "to-be-interface" });
        var router = await CreateAsync("routers", "router", new JsonObject { ["name"] = "r" });
        await WaitForStatusAsync($"ports/{port}", "port", "ACTIVE");
        await SendAsync(HttpMethod.Put, $"routers/{router}/add_router_interface", new JsonObject { ["port_id"] = port });
        await WaitForStatusAsync($"ports/{port}", "port", "ACTIVE");

        await SendAsync(HttpMethod.Put, $"routers/{router}/remove_router_interface", new JsonObject { ["port_id"] = port });
        await WaitForGoneAsync($"ports/{port}");
        await SendAsync(HttpMethod.Delete, $"subnets/{subnet}", null);
        await WaitForGoneAsync($"subnets/{subnet}");
        await SendAsync(HttpMethod.Delete, $"networks/{net}", null);
        await WaitForGoneAsync($"networks/{net}");
        await Scenario.WaitUntilDrainedAsync(TimeSpan.FromSeconds(30));

        Assert.All(await Simulator.ViolationsAsync(), v => Assert.True(v.Value == 0, $"{v.Key} = {v.Value}"));
        Assert.Empty(await Simulator.ListAsync("ports"));
        Assert.Empty(await Simulator.InterfacesAsync());
    }

    [Fact]
    public async Task Renaming_an_interface_port_through_the_api_reaches_the_back_end_on_its_interface()
    {
        await using var worker = await WorkerHost.StartAsync(Database, Simulator.BaseUrl.ToString());
        var net = await CreateAsync("networks", "network", new JsonObject { ["name"] = "n" });
        var subnet = await CreateAsync("subnets", "subnet", new JsonObject { ["network_id"] = net, ["cidr"] = "10.40.0.0/24", ["ip_version"] = 4 });
        var router = await CreateAsync("routers", "router", new JsonObject { ["name"] = "r" });
        var interfacePort = (await SendAsync(HttpMethod.Put, $"routers/{router}/add_router_interface", new JsonObject { ["subnet_id"] = subnet }))["port_id"]!.GetValue<string>();
        await WaitForStatusAsync($"ports/{interfacePort}", "port", "ACTIVE");

        await SendAsync(HttpMethod.Put, $"ports/{interfacePort}", new JsonObject { ["port"] = new JsonObject { ["name"] = "uplink", ["description"] = "to the core" } });
        await WaitForStatusAsync($"ports/{interfacePort}", "port", "ACTIVE");

        var held = (await Simulator.Admin.GetFromJsonAsync<JsonObject>($"v1/routers/{router}/interfaces"))!["items"]!.AsArray().Single()!;
        Assert.Equal(interfacePort, held["port_id"]!.GetValue<string>());
        Assert.Equal("uplink", held["attributes"]!["name"]!.GetValue<string>());
        Assert.Equal("to the core", held["attributes"]!["description"]!.GetValue<string>());
        Assert.Equal(subnet, held["attributes"]!["subnet_id"]!.GetValue<string>());
        Assert.Null(held["attributes"]!["router_id"]); // in the path, not repeated in the body
        Assert.All(await Simulator.ViolationsAsync(), v => Assert.True(v.Value == 0, $"{v.Key} = {v.Value}"));
    }

    [Fact]
    public async Task Binding_a_port_to_a_host_and_moving_it_reaches_the_back_end_as_updates()
    {
        await using var worker = await WorkerHost.StartAsync(Database, Simulator.BaseUrl.ToString());
        var net = await CreateAsync("networks", "network", new JsonObject { ["name"] = "n" });
        await CreateAsync("subnets", "subnet", new JsonObject { ["network_id"] = net, ["cidr"] = "10.50.0.0/24", ["ip_version"] = 4 });
        var port = await CreateAsync("ports", "port", new JsonObject { ["network_id"] = net, ["binding:vnic_type"] = "direct" });
        await WaitForStatusAsync($"ports/{port}", "port", "ACTIVE");
        Assert.Equal("", (await HeldPortAsync(port))["binding:host_id"]!.GetValue<string>());

        foreach (var host in new[] { "compute-1", "compute-2" })
        {
            var bound = (await SendAsync(HttpMethod.Put, $"ports/{port}", new JsonObject
            {
                ["port"] = new JsonObject { ["binding:host_id"] = host, ["binding:profile"] = new JsonObject { ["pci_slot"] = $"0000:0{host[^1]}:00.1" } },
            }))["port"]!;
            Assert.Equal("ovs", bound["binding:vif_type"]!.GetValue<string>());
            await WaitForStatusAsync($"ports/{port}", "port", "ACTIVE");
            var held = await HeldPortAsync(port);
            Assert.Equal(host, held["binding:host_id"]!.GetValue<string>());
            Assert.Equal("direct", held["binding:vnic_type"]!.GetValue<string>());
            Assert.Equal($"0000:0{host[^1]}:00.1", held["binding:profile"]!["pci_slot"]!.GetValue<string>());
            Assert.Null(held["binding:vif_type"]); // derived by the API, never sent
        }
        Assert.All(await Simulator.ViolationsAsync(), v => Assert.True(v.Value == 0, $"{v.Key} = {v.Value}"));
    }

    [Fact]
    public async Task Ports_reusing_deleted_ports_addresses_and_macs_at_once_reach_the_back_end_after_those_deletes()
    {
        const int Pairs = 24;
        await using var a = await WorkerHost.StartAsync(Database, Simulator.BaseUrl.ToString(), settings: new Dictionary<string, string?> { ["Worker:InstanceId"] = "reuse-a" });
        await using var b = await WorkerHost.StartAsync(Database, Simulator.BaseUrl.ToString(), settings: new Dictionary<string, string?> { ["Worker:InstanceId"] = "reuse-b" });
        var net = await CreateAsync("networks", "network", new JsonObject { ["name"] = "reuse" });
        var subnet = await CreateAsync("subnets", "subnet", new JsonObject { ["network_id"] = net, ["cidr"] = "10.60.0.0/24", ["ip_version"] = 4 });
        JsonObject PortBody(int i) => new()
        {
            ["network_id"] = net,
            ["mac_address"] = $"fa:16:3e:60:00:{i:x2}",
            ["fixed_ips"] = new JsonArray(new JsonObject { ["subnet_id"] = subnet, ["ip_address"] = $"10.60.0.{10 + i}" }),
        };
        var olds = new List<string>();
        for (var i = 0; i < Pairs; i++)
        {
            olds.Add(await CreateAsync("ports", "port", PortBody(i)));
        }
        foreach (var old in olds)
        {
            await WaitForStatusAsync($"ports/{old}", "port", "ACTIVE");
        }

        // Slow deletes at the back end, so every new port's create is claimable while its predecessor's delete is
        // still in flight or queued; each pair is deleted and re-created back to back, pairs concurrently.
        await Simulator.SetFaultsAsync(new { latency_min_ms = 100, latency_max_ms = 400 });
        var news = await Task.WhenAll(olds.Select(async (old, i) =>
        {
            await SendAsync(HttpMethod.Delete, $"ports/{old}", null);
            return await CreateAsync("ports", "port", PortBody(i));
        }));

        foreach (var created in news)
        {
            await WaitForStatusAsync($"ports/{created}", "port", "ACTIVE");
        }
        foreach (var old in olds)
        {
            await WaitForGoneAsync($"ports/{old}");
        }
        await Scenario.WaitUntilDrainedAsync(TimeSpan.FromSeconds(60));

        Assert.All(await Simulator.ViolationsAsync(), v => Assert.True(v.Value == 0, $"{v.Key} = {v.Value}"));
        var held = await Simulator.ListAsync("ports");
        Assert.Equal(news.Select(Guid.Parse).Order(), held.Keys.Order());
        await using var released = DataSource.CreateCommand("select count(*) from released_addresses");
        Assert.Equal(0L, await released.ExecuteScalarAsync());
    }

    [Fact]
    public async Task Security_groups_rules_and_a_ports_groups_reach_the_back_end_in_order_and_leave_it_bottom_up()
    {
        await Simulator.SetFaultsAsync(new { latency_min_ms = 1, latency_max_ms = 30 });
        await using var a = await WorkerHost.StartAsync(Database, Simulator.BaseUrl.ToString(), settings: new Dictionary<string, string?> { ["Worker:InstanceId"] = "sg-a" });
        await using var b = await WorkerHost.StartAsync(Database, Simulator.BaseUrl.ToString(), settings: new Dictionary<string, string?> { ["Worker:InstanceId"] = "sg-b" });
        var net = await CreateAsync("networks", "network", new JsonObject { ["name"] = "n" });
        await CreateAsync("subnets", "subnet", new JsonObject { ["network_id"] = net, ["cidr"] = "10.60.0.0/24", ["ip_version"] = 4 });
        // Sent at once, without waiting: the drain orders group → rule → port by depends_on.
        var web = await CreateAsync("security-groups", "security_group", new JsonObject { ["name"] = "web" });
        var https = await CreateAsync("security-group-rules", "security_group_rule", new JsonObject
        {
            ["security_group_id"] = web, ["direction"] = "ingress", ["protocol"] = "tcp", ["port_range_min"] = 443, ["port_range_max"] = 443,
        });
        var port = await CreateAsync("ports", "port", new JsonObject { ["network_id"] = net, ["security_groups"] = new JsonArray(web) });
        var plain = await CreateAsync("ports", "port", new JsonObject { ["network_id"] = net });

        await WaitForStatusAsync($"ports/{port}", "port", "ACTIVE");
        await WaitForStatusAsync($"ports/{plain}", "port", "ACTIVE");
        await WaitForStatusAsync($"security-group-rules/{https}", "security_group_rule", "ACTIVE");
        var groups = await Simulator.ListAsync("security-groups");
        var defaultGroup = (await SendAsync(HttpMethod.Get, "security-groups?name=default", null))["security_groups"]![0]!["id"]!.GetValue<string>();
        Assert.Equal(new[] { web, defaultGroup }.Select(Guid.Parse).Order(), groups.Keys.Order());
        var rule = (await Simulator.ListAsync("security-group-rules"))[Guid.Parse(https)].Attributes;
        Assert.Equal(web, rule["security_group_id"]!.GetValue<string>());
        Assert.Equal(443, rule["port_range_min"]!.GetValue<int>());
        Assert.Equal(web, (await HeldPortAsync(port))["security_groups"]![0]!.GetValue<string>());
        Assert.Equal(defaultGroup, (await HeldPortAsync(plain))["security_groups"]![0]!.GetValue<string>());

        // The port leaves the group and the group goes at once: its rules first, and the port's update before it.
        await SendAsync(HttpMethod.Put, $"ports/{port}", new JsonObject { ["port"] = new JsonObject { ["security_groups"] = new JsonArray() } });
        await SendAsync(HttpMethod.Delete, $"security-groups/{web}", null);
        await WaitForGoneAsync($"security-groups/{web}");
        await Scenario.WaitUntilDrainedAsync(TimeSpan.FromSeconds(60));

        Assert.False((await Simulator.ListAsync("security-groups")).ContainsKey(Guid.Parse(web)));
        Assert.False((await Simulator.ListAsync("security-group-rules")).ContainsKey(Guid.Parse(https)));
        Assert.Empty((await HeldPortAsync(port))["security_groups"]!.AsArray());
        Assert.All(await Simulator.ViolationsAsync(), v => Assert.True(v.Value == 0, $"{v.Key} = {v.Value}"));
    }

    [Fact]
    public async Task A_subnet_pool_reaches_the_back_end_before_a_subnet_cut_from_it_and_leaves_after_it()
    {
        await Simulator.SetFaultsAsync(new { latency_min_ms = 1, latency_max_ms = 30 });
        await using var worker = await WorkerHost.StartAsync(Database, Simulator.BaseUrl.ToString(), settings: new Dictionary<string, string?> { ["Worker:InstanceId"] = "pool-a" });
        var net = await CreateAsync("networks", "network", new JsonObject { ["name"] = "n" });
        // Sent at once, without waiting: the subnet's create depends on the pool's.
        var pool = await CreateAsync("subnetpools", "subnetpool", new JsonObject { ["name"] = "p", ["prefixes"] = new JsonArray("10.90.0.0/16"), ["default_prefixlen"] = 26 });
        var subnet = await CreateAsync("subnets", "subnet", new JsonObject { ["network_id"] = net, ["ip_version"] = 4, ["subnetpool_id"] = pool });

        await WaitForStatusAsync($"subnets/{subnet}", "subnet", "ACTIVE");
        var held = (await Simulator.ListAsync("subnets"))[Guid.Parse(subnet)].Attributes;
        Assert.Equal(("10.90.0.0/26", pool), (held["cidr"]!.GetValue<string>(), held["subnetpool_id"]!.GetValue<string>()));
        Assert.Equal("10.90.0.0/16", (await Simulator.ListAsync("subnetpools"))[Guid.Parse(pool)].Attributes["prefixes"]![0]!.GetValue<string>());

        // The pool can go once the back end has confirmed the subnet's delete (its CIDR is the pool's until then).
        await SendAsync(HttpMethod.Delete, $"subnets/{subnet}", null);
        await WaitForGoneAsync($"subnets/{subnet}");
        await Scenario.WaitUntilDrainedAsync(TimeSpan.FromSeconds(60));
        await SendAsync(HttpMethod.Delete, $"subnetpools/{pool}", null);
        await WaitForGoneAsync($"subnetpools/{pool}");
        await Scenario.WaitUntilDrainedAsync(TimeSpan.FromSeconds(60));

        Assert.Empty(await Simulator.ListAsync("subnetpools"));
        Assert.All(await Simulator.ViolationsAsync(), v => Assert.True(v.Value == 0, $"{v.Key} = {v.Value}"));
    }

    private async Task<JsonObject> HeldPortAsync(string id) => (await Simulator.ListAsync("ports"))[Guid.Parse(id)].Attributes;

    private async Task<string> CreateAsync(string collection, string member, JsonObject body) =>
        (await SendAsync(HttpMethod.Post, collection, new JsonObject { [member] = body }))[member]!["id"]!.GetValue<string>();

    private async Task<JsonObject> SendAsync(HttpMethod method, string path, JsonObject? body)
    {
        using var request = new HttpRequestMessage(method, path) { Content = body is null ? null : JsonContent.Create(body) };
        using var response = await _neutron.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"{method} {path}: {(int)response.StatusCode} {text}");
        return text.Length == 0 ? [] : JsonNode.Parse(text)!.AsObject();
    }

    private Task WaitForStatusAsync(string path, string member, string status) =>
        Eventually.WaitAsync(async () => (await SendAsync(HttpMethod.Get, path, null))[member]!["status"]!.GetValue<string>(),
            s => s == status, TimeSpan.FromSeconds(60), $"{path} {status}");

    private Task WaitForGoneAsync(string path) =>
        Eventually.WaitAsync(async () =>
        {
            using var response = await _neutron.GetAsync(path);
            return response.StatusCode;
        }, s => s == HttpStatusCode.NotFound, TimeSpan.FromSeconds(60), $"{path} gone");
}
