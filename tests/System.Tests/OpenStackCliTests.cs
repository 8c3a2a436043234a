using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using OutboxSync.System.Tests.Support;
using OutboxSync.Testing;
using Xunit;

namespace OutboxSync.System.Tests;

/// <summary>The real `openstack` CLI (python3-openstackclient) drives the API as a running process, unchanged.</summary>
public sealed class OpenStackCliTests : IAsyncLifetime
{
    private const string AdminToken = "cli-admin-token-0123456789";
    private TestDatabase _db = null!;
    private ServiceProcess _api = null!;

    public async Task InitializeAsync()
    {
        _db = await TestDatabase.CreateAsync();
        _api = await ServiceProcess.StartAsync("Api", new Dictionary<string, string>
        {
            ["Database__ConnectionString"] = _db.ConnectionString,
            ["Auth__Tokens__0__Sha256"] = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(AdminToken))),
            ["Auth__Tokens__0__ProjectId"] = "admin-project",
            ["Auth__Tokens__0__Roles__0"] = "admin",
        });
    }

    public async Task DisposeAsync()
    {
        await _api.DisposeAsync();
        await _db.DisposeAsync();
    }

    [Fact]
    public async Task Openstack_cli_creates_lists_shows_updates_and_deletes_every_resource_kind()
    {
        var network = await JsonAsync("network", "create", "n1");
        Assert.Equal("PENDING_CREATE", network.GetProperty("status").GetString());

        var subnet = await JsonAsync("subnet", "create", "--network", "n1", "--subnet-range", "10.0.0.0/24", "s1");
        Assert.Equal("10.0.0.0/24", subnet.GetProperty("cidr").GetString());
        Assert.Equal("10.0.0.1", subnet.GetProperty("gateway_ip").GetString());

        var port = await JsonAsync("port", "create", "--network", "n1", "p1");
        Assert.Equal("PENDING_CREATE", port.GetProperty("status").GetString());
        // IPAM picks among the lowest free addresses of the pool (10.0.0.2 onwards; .1 is the gateway).
        Assert.Matches(@"""ip_address"":\s*""10\.0\.0\.([2-9]|[1-9]\d|1\d\d|2[0-4]\d|25[0-4])""", port.GetProperty("fixed_ips").ToString());

        var networks = await JsonAsync("network", "list");
        Assert.Contains(networks.EnumerateArray(), n => n.GetProperty("Name").GetString() == "n1");

        var shown = await JsonAsync("network", "show", "n1");
        Assert.Equal(network.GetProperty("id").GetString(), shown.GetProperty("id").GetString());
        Assert.Equal("PENDING_CREATE", shown.GetProperty("status").GetString());

        var router = await JsonAsync("router", "create", "r1");
        Assert.Equal("PENDING_CREATE", router.GetProperty("status").GetString());
        await RunAsync("router", "add", "subnet", "r1", "s1");
        var interfacePorts = await JsonAsync("port", "list", "--device-owner", "network:router_interface");
        Assert.Single(interfacePorts.EnumerateArray());

        await RunAsync("network", "set", "--name", "n1-renamed", "n1");
        var renamed = await JsonAsync("network", "show", "n1-renamed");
        Assert.Equal(3, renamed.GetProperty("revision_number").GetInt32()); // 2 after s1 was created (as in Neutron), 3 renamed

        Assert.Single((await JsonAsync("subnet", "list")).EnumerateArray());
        Assert.Equal("r1", (await JsonAsync("router", "show", "r1")).GetProperty("name").GetString());

        await RunAsync("router", "remove", "subnet", "r1", "s1");
        await RunAsync("port", "delete", "p1");
        var deleting = await JsonAsync("port", "show", port.GetProperty("id").GetString()!);
        Assert.Equal("PENDING_DELETE", deleting.GetProperty("status").GetString());
    }

    [Fact]
    public async Task Openstack_cli_binds_a_port_to_a_host_moves_it_and_lists_the_hosts_ports()
    {
        await RunAsync("network", "create", "bn");
        await RunAsync("subnet", "create", "--network", "bn", "--subnet-range", "10.9.0.0/24", "bs");

        var port = await JsonAsync("port", "create", "--network", "bn", "--host", "compute-1", "--vnic-type", "direct", "bp");
        Assert.Equal("compute-1", port.GetProperty("binding_host_id").GetString());
        Assert.Equal("direct", port.GetProperty("binding_vnic_type").GetString());
        Assert.Equal("ovs", port.GetProperty("binding_vif_type").GetString());

        await RunAsync("port", "set", "--host", "compute-2", "bp");
        var moved = await JsonAsync("port", "show", "bp");
        Assert.Equal("compute-2", moved.GetProperty("binding_host_id").GetString());
        Assert.Equal(2, moved.GetProperty("revision_number").GetInt32());

        var onHost = await JsonAsync("port", "list", "--host", "compute-2");
        Assert.Equal([port.GetProperty("id").GetString()], onHost.EnumerateArray().Select(p => p.GetProperty("ID").GetString()));
        Assert.Empty((await JsonAsync("port", "list", "--host", "compute-1")).EnumerateArray());
    }

    [Fact]
    public async Task Openstack_cli_creates_a_security_group_with_a_rule_and_a_port_that_uses_it()
    {
        await RunAsync("network", "create", "sgn");
        await RunAsync("subnet", "create", "--network", "sgn", "--subnet-range", "10.8.0.0/24", "sgs");
        var group = await JsonAsync("security", "group", "create", "web");
        var rule = await JsonAsync("security", "group", "rule", "create", "--protocol", "tcp", "--dst-port", "443", "--remote-ip", "10.0.0.0/8", "web");
        Assert.Equal("tcp", rule.GetProperty("protocol").GetString());
        Assert.Equal(443, rule.GetProperty("port_range_min").GetInt32());
        Assert.Equal("10.0.0.0/8", rule.GetProperty("remote_ip_prefix").GetString());

        var rules = await JsonAsync("security", "group", "rule", "list", "web");
        Assert.Equal(3, rules.GetArrayLength()); // egress IPv4 and IPv6, and the new one
        var port = await JsonAsync("port", "create", "--network", "sgn", "--security-group", "web", "sgp");
        Assert.Equal([group.GetProperty("id").GetString()], port.GetProperty("security_group_ids").EnumerateArray().Select(g => g.GetString()));
        var groups = await JsonAsync("security", "group", "list");
        Assert.Contains(groups.EnumerateArray(), g => g.GetProperty("Name").GetString() == "default");

        await RunAsync("port", "set", "--no-security-group", "sgp");
        await RunAsync("security", "group", "delete", "web"); // refused (non-zero exit) while a port uses it
    }

    [Fact]
    public async Task Openstack_cli_creates_a_subnet_pool_and_subnets_cut_from_it()
    {
        await RunAsync("network", "create", "pn");
        var pool = await JsonAsync("subnet", "pool", "create", "--pool-prefix", "10.77.0.0/17", "--pool-prefix", "10.77.128.0/17",
            "--default-prefix-length", "24", "pool1");
        Assert.Contains("10.77.0.0/16", pool.GetProperty("prefixes").ToString(), StringComparison.Ordinal);

        var byDefault = await JsonAsync("subnet", "create", "--network", "pn", "--subnet-pool", "pool1", "ps1");
        var byLength = await JsonAsync("subnet", "create", "--network", "pn", "--subnet-pool", "pool1", "--prefix-length", "26", "ps2");
        var byRange = await JsonAsync("subnet", "create", "--network", "pn", "--subnet-pool", "pool1", "--subnet-range", "10.77.9.0/24", "ps3");

        Assert.Equal("10.77.0.0/24", byDefault.GetProperty("cidr").GetString());
        Assert.Equal("10.77.1.0/26", byLength.GetProperty("cidr").GetString());
        Assert.Equal("10.77.9.0/24", byRange.GetProperty("cidr").GetString());
        Assert.Equal(pool.GetProperty("id").GetString(), byDefault.GetProperty("subnetpool_id").GetString());
        var pools = await JsonAsync("subnet", "pool", "list");
        Assert.Contains(pools.EnumerateArray(), p => p.GetProperty("Name").GetString() == "pool1");
    }

    [Fact]
    public async Task Openstack_cli_creates_a_slaac_subnet_and_a_port_gets_its_eui64_address()
    {
        await RunAsync("network", "create", "v6n");
        var subnet = await JsonAsync("subnet", "create", "--network", "v6n", "--ip-version", "6", "--subnet-range", "2001:db8:9::/64",
            "--ipv6-ra-mode", "slaac", "--ipv6-address-mode", "slaac", "v6s");
        Assert.Equal("slaac", subnet.GetProperty("ipv6_address_mode").GetString());

        var port = await JsonAsync("port", "create", "--network", "v6n", "--mac-address", "fa:16:3e:00:99:01", "v6p");
        Assert.Contains("2001:db8:9:0:f816:3eff:fe00:9901", port.GetProperty("fixed_ips").ToString(), StringComparison.Ordinal);
    }

    private async Task<JsonElement> JsonAsync(params string[] args)
    {
        var output = await RunAsync([.. args, "-f", "json"]);
        return JsonDocument.Parse(output).RootElement.Clone();
    }

    private async Task<string> RunAsync(params string[] args)
    {
        var result = await OpenStackCli.RunAsync(OpenStackCli.TokenAuth(AdminToken, _api.Url!), args);
        Assert.True(result.ExitCode == 0,
            $"openstack {string.Join(' ', args)} failed ({result.ExitCode}): {result.Stderr}\nAPI log:\n{_api.Output}");
        return result.Stdout;
    }
}
