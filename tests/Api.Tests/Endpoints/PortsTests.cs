using OutboxSync.Ipam;
using System.Text.RegularExpressions;
using static OutboxSync.Api.Tests.Infrastructure.Neutron;

namespace OutboxSync.Api.Tests.Endpoints;

public sealed partial class PortsTests(ApiFactory api) : IClassFixture<ApiFactory>
{
    private static JsonObject PortBody(string networkId, JsonObject? extra = null)
    {
        var body = new JsonObject { ["network_id"] = networkId };
        Merge(body, extra);
        return new JsonObject { ["port"] = body };
    }

    private static JsonArray FixedIp(string subnetId, string? ip = null)
    {
        var o = new JsonObject { ["subnet_id"] = subnetId };
        if (ip is not null)
        {
            o["ip_address"] = ip;
        }
        return new JsonArray(o);
    }

    [GeneratedRegex("^fa:16:3e(:[0-9a-f]{2}){3}$")]
    private static partial Regex NeutronMac();

    [Fact]
    public async Task Creating_a_port_is_201_with_a_generated_mac_and_an_address_from_the_subnet()
    {
        var (n, s) = await api.P1.CreateNetworkWithSubnetAsync("10.0.0.0/24");
        var response = (await api.P1.PostAsync("/v2.0/ports", PortBody(Id(n), new JsonObject { ["name"] = "p" }))).Expect(HttpStatusCode.Created);
        var p = response.Item("port");

        Assert.EndsWith($"/v2.0/ports/{Id(p)}", response.Location!.ToString());
        Assert.Equal("p", Str(p, "name"));
        Assert.Equal(Id(n), Str(p, "network_id"));
        Assert.Matches(NeutronMac(), Str(p, "mac_address"));
        var ip = Assert.Single(Assert.IsType<JsonArray>(p["fixed_ips"]));
        Assert.Equal(Id(s), Str(ip!, "subnet_id"));
        var address = IPAddress.Parse(Str(ip!, "ip_address"));
        Assert.StartsWith("10.0.0.", address.ToString());
        Assert.NotEqual("10.0.0.1", address.ToString());   // the gateway
        Assert.NotEqual("10.0.0.0", address.ToString());
        Assert.NotEqual("10.0.0.255", address.ToString());
        Assert.Equal("", Str(p, "device_id"));
        Assert.Equal("", Str(p, "device_owner"));
        Assert.True(p["admin_state_up"]!.GetValue<bool>());
        Assert.Equal("PENDING_CREATE", Str(p, "status"));
        Assert.Equal(1, Revision(p));
        Assert.Equal(ApiFactory.Project1, Str(p, "project_id"));
        Assert.Equal(ApiFactory.Project1, Str(p, "tenant_id"));
        AssertTimestamp(p, "created_at");
        AssertTimestamp(p, "updated_at");
        Assert.Empty(Assert.IsType<JsonArray>(p["tags"]));
        Assert.NotNull(p["description"]);

        var entry = Assert.Single(await api.Db.OutboxForAsync(Id(p)));
        Assert.Equal(("port", "create", 1L), (entry.ResourceType, entry.Operation, entry.Revision));
        Assert.Equal(address.ToString(), Str(entry.Payload["fixed_ips"]![0]!, "ip_address"));
        Assert.Equal(1, await api.Db.ScalarAsync<long>("select count(*) from ip_allocations where port_id = $1", Guid.Parse(Id(p))));

        Assert.True(JsonNode.DeepEquals(p, await api.P1.ShowAsync("ports", Id(p), "port")));
    }

    [Fact]
    public async Task Two_ports_get_different_macs_and_addresses()
    {
        var (n, _) = await api.P1.CreateNetworkWithSubnetAsync("10.1.0.0/24");
        var a = await api.P1.CreatePortAsync(Id(n));
        var b = await api.P1.CreatePortAsync(Id(n));
        Assert.NotEqual(Str(a, "mac_address"), Str(b, "mac_address"));
        Assert.NotEqual(Str(a["fixed_ips"]![0]!, "ip_address"), Str(b["fixed_ips"]![0]!, "ip_address"));
    }

    [Fact]
    public async Task A_port_on_an_ipv6_subnet_gets_an_ipv6_address_in_it()
    {
        var (n, _) = await api.P1.CreateNetworkWithSubnetAsync("2001:db8:5::/64");
        var p = await api.P1.CreatePortAsync(Id(n));
        var address = IPAddress.Parse(Str(p["fixed_ips"]![0]!, "ip_address"));
        Assert.Equal(System.Net.Sockets.AddressFamily.InterNetworkV6, address.AddressFamily);
        // A /64 is sampled at random (like any pool larger than IpAllocator.ExactSearchLimit): anywhere inside it.
        Assert.True(SubnetCidr.TryParse("2001:db8:5::/64", out var cidr, out _) && cidr.Contains(address), address.ToString());
        Assert.NotEqual("2001:db8:5::1", address.ToString());
    }

    [Fact]
    public async Task A_requested_fixed_ip_is_honoured()
    {
        var (n, s) = await api.P1.CreateNetworkWithSubnetAsync("10.2.0.0/24");
        var p = (await api.P1.PostAsync("/v2.0/ports", PortBody(Id(n), new JsonObject { ["fixed_ips"] = FixedIp(Id(s), "10.2.0.50") })))
            .Expect(HttpStatusCode.Created).Item("port");
        Assert.Equal("10.2.0.50", Str(p["fixed_ips"]![0]!, "ip_address"));
        Assert.Equal(Id(s), Str(p["fixed_ips"]![0]!, "subnet_id"));
    }

    [Fact]
    public async Task A_requested_subnet_without_an_address_allocates_from_that_subnet()
    {
        var n = await api.P1.CreateNetworkAsync();
        await api.P1.CreateSubnetAsync(Id(n), "10.3.0.0/24");
        var second = await api.P1.CreateSubnetAsync(Id(n), "10.4.0.0/24");
        var p = (await api.P1.PostAsync("/v2.0/ports", PortBody(Id(n), new JsonObject { ["fixed_ips"] = FixedIp(Id(second)) })))
            .Expect(HttpStatusCode.Created).Item("port");
        var ip = Assert.Single(Assert.IsType<JsonArray>(p["fixed_ips"]));
        Assert.Equal(Id(second), Str(ip!, "subnet_id"));
        Assert.StartsWith("10.4.0.", Str(ip!, "ip_address"));
    }

    [Fact]
    public async Task A_requested_ip_already_in_use_is_409_and_changes_nothing()
    {
        var (n, s) = await api.P1.CreateNetworkWithSubnetAsync("10.5.0.0/24");
        await api.P1.PostAsync("/v2.0/ports", PortBody(Id(n), new JsonObject { ["fixed_ips"] = FixedIp(Id(s), "10.5.0.20") }));
        var before = await api.Db.FingerprintAsync();
        (await api.P1.PostAsync("/v2.0/ports", PortBody(Id(n), new JsonObject { ["fixed_ips"] = FixedIp(Id(s), "10.5.0.20") })))
            .ExpectNeutronError(HttpStatusCode.Conflict);
        Assert.Equal(before, await api.Db.FingerprintAsync());
    }

    [Fact]
    public async Task Requesting_the_gateway_address_is_rejected()
    {
        var (n, s) = await api.P1.CreateNetworkWithSubnetAsync("10.6.0.0/24");
        var before = await api.Db.FingerprintAsync();
        var response = await api.P1.PostAsync("/v2.0/ports", PortBody(Id(n), new JsonObject { ["fixed_ips"] = FixedIp(Id(s), "10.6.0.1") }));
        response.ExpectOneOf(HttpStatusCode.Conflict, HttpStatusCode.BadRequest);
        Assert.Equal(before, await api.Db.FingerprintAsync());
    }

    [Fact]
    public async Task An_exhausted_pool_is_409_IpAddressGenerationFailure()
    {
        // A /29 has 6 hosts; the first is the gateway, so 5 ports fit.
        var (n, _) = await api.P1.CreateNetworkWithSubnetAsync("10.7.0.0/29");
        var addresses = new List<string>();
        for (var i = 0; i < 5; i++)
        {
            addresses.Add(Str((await api.P1.CreatePortAsync(Id(n)))["fixed_ips"]![0]!, "ip_address"));
        }
        Assert.Equal(["10.7.0.2", "10.7.0.3", "10.7.0.4", "10.7.0.5", "10.7.0.6"], addresses.Order());

        var before = await api.Db.FingerprintAsync();
        (await api.P1.PostAsync("/v2.0/ports", PortBody(Id(n)))).ExpectNeutronError(HttpStatusCode.Conflict, "IpAddressGenerationFailure");
        Assert.Equal(before, await api.Db.FingerprintAsync());
    }


    [Theory]
    [InlineData("mac_address", "\"zz:16:3e:00:00:01\"")]
    [InlineData("mac_address", "\"fa:16:3e:00:00\"")]
    [InlineData("mac_address", "42")]
    [InlineData("fixed_ips", "[{\"ip_address\": \"10.9.0.999\"}]")]
    [InlineData("fixed_ips", "[{\"ip_address\": \"banana\"}]")]
    [InlineData("fixed_ips", "[{\"ip_address\": \"192.168.99.5\"}]")]   // not in any subnet of the network
    [InlineData("fixed_ips", "\"10.9.0.5\"")]
    [InlineData("admin_state_up", "\"perhaps\"")]
    [InlineData("device_id", "17")]
    public async Task An_invalid_mac_or_address_is_400_and_changes_nothing(string attribute, string json)
    {
        var (n, _) = await api.P1.CreateNetworkWithSubnetAsync("10.9.0.0/24");
        // The project's default security group is made on first use, in its own transaction, whatever the request's
        // fate (as in Neutron): make it first, so the fingerprint shows what the refused request itself wrote.
        (await api.P1.GetAsync("/v2.0/security-groups")).Expect(HttpStatusCode.OK);
        var before = await api.Db.FingerprintAsync();
        (await api.P1.PostAsync("/v2.0/ports", $"{{\"port\": {{\"network_id\": \"{Id(n)}\", \"{attribute}\": {json}}}}}"))
            .ExpectNeutronError(HttpStatusCode.BadRequest);
        Assert.Equal(before, await api.Db.FingerprintAsync());
    }

    [Fact]
    public async Task A_requested_mac_is_honoured_and_a_duplicate_mac_is_409()
    {
        var (n, _) = await api.P1.CreateNetworkWithSubnetAsync("10.10.0.0/24");
        var p = (await api.P1.PostAsync("/v2.0/ports", PortBody(Id(n), new JsonObject { ["mac_address"] = "fa:16:3e:12:34:56" })))
            .Expect(HttpStatusCode.Created).Item("port");
        Assert.Equal("fa:16:3e:12:34:56", Str(p, "mac_address"));
        var before = await api.Db.FingerprintAsync();
        (await api.P1.PostAsync("/v2.0/ports", PortBody(Id(n), new JsonObject { ["mac_address"] = "fa:16:3e:12:34:56" })))
            .ExpectNeutronError(HttpStatusCode.Conflict);
        Assert.Equal(before, await api.Db.FingerprintAsync());
    }

    [Fact]
    public async Task A_port_on_another_projects_private_network_is_404()
    {
        var (foreign, _) = await api.P2.CreateNetworkWithSubnetAsync("10.11.0.0/24");
        var before = await api.Db.FingerprintAsync();
        (await api.P1.PostAsync("/v2.0/ports", PortBody(Id(foreign)))).ExpectNeutronError(HttpStatusCode.NotFound);
        (await api.P1.PostAsync("/v2.0/ports", PortBody(Guid.NewGuid().ToString()))).ExpectNeutronError(HttpStatusCode.NotFound);
        Assert.Equal(before, await api.Db.FingerprintAsync());
    }

    [Fact]
    public async Task A_port_on_a_shared_network_of_another_project_is_allowed_and_belongs_to_the_caller()
    {
        var shared = await api.Admin.CreateNetworkAsync(extra: new JsonObject { ["project_id"] = ApiFactory.Project2, ["shared"] = true });
        await api.Admin.CreateSubnetAsync(Id(shared), "10.12.0.0/24", new JsonObject { ["project_id"] = ApiFactory.Project2 });
        var p = await api.P1.CreatePortAsync(Id(shared));
        Assert.Equal(ApiFactory.Project1, Str(p, "project_id"));
        Assert.StartsWith("10.12.0.", Str(p["fixed_ips"]![0]!, "ip_address"));
    }

    [Fact]
    public async Task Admin_may_create_a_port_for_another_project()
    {
        var (n, _) = await api.P2.CreateNetworkWithSubnetAsync("10.13.0.0/24");
        var p = await api.Admin.CreatePortAsync(Id(n), new JsonObject { ["project_id"] = ApiFactory.Project2 });
        Assert.Equal(ApiFactory.Project2, Str(p, "project_id"));
    }

    [Fact]
    public async Task Updating_a_port_is_200_with_the_next_revision_and_one_update_entry()
    {
        var (n, _) = await api.P1.CreateNetworkWithSubnetAsync("10.14.0.0/24");
        var p = await api.P1.CreatePortAsync(Id(n));
        var updated = (await api.P1.PutAsync($"/v2.0/ports/{Id(p)}", new JsonObject
        {
            ["port"] = new JsonObject { ["name"] = "vm-port", ["device_id"] = "vm-1", ["device_owner"] = "compute:nova", ["admin_state_up"] = false },
        })).Expect(HttpStatusCode.OK).Item("port");
        Assert.Equal("vm-port", Str(updated, "name"));
        Assert.Equal("vm-1", Str(updated, "device_id"));
        Assert.Equal("compute:nova", Str(updated, "device_owner"));
        Assert.False(updated["admin_state_up"]!.GetValue<bool>());
        Assert.Equal(2, Revision(updated));
        Assert.Equal(Str(p, "mac_address"), Str(updated, "mac_address"));
        Assert.True(JsonNode.DeepEquals(p["fixed_ips"], updated["fixed_ips"]));
        Assert.Equal(["create", "update"], (await api.Db.OutboxForAsync(Id(p))).Select(e => e.Operation));

        await api.Db.MarkActiveAsync("ports", Id(p));
        var again = (await api.P1.PutAsync($"/v2.0/ports/{Id(p)}", new JsonObject { ["port"] = new JsonObject { ["name"] = "again" } }))
            .Expect(HttpStatusCode.OK).Item("port");
        Assert.Equal("PENDING_UPDATE", Str(again, "status"));
        Assert.Equal(3, Revision(again));
    }

    [Fact]
    public async Task Updating_a_ports_network_is_400()
    {
        var (n, _) = await api.P1.CreateNetworkWithSubnetAsync("10.15.0.0/24");
        var other = await api.P1.CreateNetworkAsync();
        var p = await api.P1.CreatePortAsync(Id(n));
        var before = await api.Db.FingerprintAsync();
        (await api.P1.PutAsync($"/v2.0/ports/{Id(p)}", new JsonObject { ["port"] = new JsonObject { ["network_id"] = Id(other) } }))
            .ExpectNeutronError(HttpStatusCode.BadRequest);
        Assert.Equal(before, await api.Db.FingerprintAsync());
    }

    [Fact]
    public async Task Deleting_a_port_is_204_and_it_shows_PENDING_DELETE()
    {
        var (n, _) = await api.P1.CreateNetworkWithSubnetAsync("10.16.0.0/24");
        var p = await api.P1.CreatePortAsync(Id(n));
        (await api.P1.DeleteAsync($"/v2.0/ports/{Id(p)}")).Expect(HttpStatusCode.NoContent);
        Assert.Equal("PENDING_DELETE", Str(await api.P1.ShowAsync("ports", Id(p), "port"), "status"));
        Assert.True(await api.Db.ExistsAsync("ports", Id(p)));
        Assert.Equal(["create", "delete"], (await api.Db.OutboxForAsync(Id(p))).Select(e => e.Operation));
    }

    [Fact]
    public async Task Port_update_and_delete_honour_If_Match()
    {
        var (n, _) = await api.P1.CreateNetworkWithSubnetAsync("10.17.0.0/24");
        var p = await api.P1.CreatePortAsync(Id(n));
        (await api.P1.PutAsync($"/v2.0/ports/{Id(p)}", new JsonObject { ["port"] = new JsonObject { ["name"] = "a" } }, "revision_number=1"))
            .Expect(HttpStatusCode.OK);
        (await api.P1.PutAsync($"/v2.0/ports/{Id(p)}", new JsonObject { ["port"] = new JsonObject { ["name"] = "b" } }, "revision_number=1"))
            .ExpectNeutronError(HttpStatusCode.PreconditionFailed);
        (await api.P1.DeleteAsync($"/v2.0/ports/{Id(p)}", "revision_number=1")).ExpectNeutronError(HttpStatusCode.PreconditionFailed);
        (await api.P1.DeleteAsync($"/v2.0/ports/{Id(p)}", "revision_number=2")).Expect(HttpStatusCode.NoContent);
    }

    [Fact]
    public async Task Bulk_port_create_is_all_or_nothing()
    {
        var (n, s) = await api.P1.CreateNetworkWithSubnetAsync("10.18.0.0/24");
        var before = await api.Db.FingerprintAsync();
        var body = new JsonObject
        {
            ["ports"] = new JsonArray(
                new JsonObject { ["network_id"] = Id(n) },
                new JsonObject { ["network_id"] = Id(n), ["fixed_ips"] = FixedIp(Id(s), "10.18.0.77") },
                new JsonObject { ["network_id"] = Id(n), ["fixed_ips"] = FixedIp(Id(s), "10.18.0.77") }),
        };
        var response = await api.P1.PostAsync("/v2.0/ports", body);
        Assert.True((int)response.Status is 400 or 409, $"expected 400/409, got {response.Status}: {response.Text}");
        Assert.Equal(before, await api.Db.FingerprintAsync());

        var ok = (await api.P1.PostAsync("/v2.0/ports", new JsonObject
        {
            ["ports"] = new JsonArray(new JsonObject { ["network_id"] = Id(n) }, new JsonObject { ["network_id"] = Id(n) }),
        })).Expect(HttpStatusCode.Created).Items("ports");
        Assert.Equal(2, ok.Count);
        Assert.NotEqual(Str(ok[0]!["fixed_ips"]![0]!, "ip_address"), Str(ok[1]!["fixed_ips"]![0]!, "ip_address"));
    }

    [Fact]
    public async Task A_port_on_a_network_without_subnets_has_no_addresses()
    {
        var n = await api.P1.CreateNetworkAsync();
        var p = await api.P1.CreatePortAsync(Id(n));
        Assert.Empty(Assert.IsType<JsonArray>(p["fixed_ips"]));
        Assert.Matches(NeutronMac(), Str(p, "mac_address"));
    }

    [Fact]
    public async Task An_empty_fixed_ips_list_gives_a_port_without_addresses()
    {
        var (n, _) = await api.P1.CreateNetworkWithSubnetAsync("10.60.0.0/24");
        var p = await api.P1.CreatePortAsync(Id(n), new JsonObject { ["fixed_ips"] = new JsonArray() });
        Assert.Empty(Assert.IsType<JsonArray>(p["fixed_ips"]));
    }

    [Fact]
    public async Task A_requested_address_without_a_subnet_is_placed_in_the_subnet_that_contains_it()
    {
        var n = await api.P1.CreateNetworkAsync();
        await api.P1.CreateSubnetAsync(Id(n), "10.61.0.0/24");
        var second = await api.P1.CreateSubnetAsync(Id(n), "10.62.0.0/24");
        var p = await api.P1.CreatePortAsync(Id(n), new JsonObject
        {
            ["fixed_ips"] = new JsonArray(new JsonObject { ["ip_address"] = "10.62.0.33" }),
        });
        var ip = Assert.Single(Assert.IsType<JsonArray>(p["fixed_ips"]));
        Assert.Equal(Id(second), Str(ip!, "subnet_id"));
        Assert.Equal("10.62.0.33", Str(ip!, "ip_address"));
    }

    [Fact]
    public async Task A_subnet_of_another_network_in_fixed_ips_is_400()
    {
        var (n, _) = await api.P1.CreateNetworkWithSubnetAsync("10.63.0.0/24");
        var (_, otherSubnet) = await api.P1.CreateNetworkWithSubnetAsync("10.64.0.0/24");
        var before = await api.Db.FingerprintAsync();
        (await api.P1.PostAsync("/v2.0/ports", PortBody(Id(n), new JsonObject { ["fixed_ips"] = FixedIp(Id(otherSubnet)) })))
            .ExpectNeutronError(HttpStatusCode.BadRequest);
        Assert.Equal(before, await api.Db.FingerprintAsync());
    }

    [Fact]
    public async Task A_router_interface_port_cannot_be_deleted_through_the_port_api()
    {
        var (_, s) = await api.P1.CreateNetworkWithSubnetAsync("10.65.0.0/24");
        var r = await api.P1.CreateRouterAsync();
        var info = (await api.P1.PutAsync($"/v2.0/routers/{Id(r)}/add_router_interface", new JsonObject { ["subnet_id"] = Id(s) }))
            .Expect(HttpStatusCode.OK).Json;
        var before = await api.Db.FingerprintAsync();
        (await api.P1.DeleteAsync($"/v2.0/ports/{Str(info, "port_id")}")).ExpectNeutronError(HttpStatusCode.Conflict);
        Assert.Equal(before, await api.Db.FingerprintAsync());
    }

    [Fact]
    public async Task Updating_a_ports_fixed_ip_to_an_address_in_use_is_409()
    {
        var (n, s) = await api.P1.CreateNetworkWithSubnetAsync("10.66.0.0/24");
        var a = await api.P1.CreatePortAsync(Id(n));
        var b = await api.P1.CreatePortAsync(Id(n));
        var before = await api.Db.FingerprintAsync();
        var taken = Str(a["fixed_ips"]![0]!, "ip_address");
        var response = await api.P1.PutAsync($"/v2.0/ports/{Id(b)}", new JsonObject { ["port"] = new JsonObject { ["fixed_ips"] = FixedIp(Id(s), taken) } });
        response.ExpectOneOf(HttpStatusCode.Conflict, HttpStatusCode.BadRequest);
        response.ExpectNeutronError(response.Status);
        Assert.Equal(before, await api.Db.FingerprintAsync());
    }

    [Fact]
    public async Task Changing_a_ports_fixed_ip_releases_the_old_address()
    {
        var (n, s) = await api.P1.CreateNetworkWithSubnetAsync("10.67.0.0/24");
        var p = (await api.P1.PostAsync("/v2.0/ports", PortBody(Id(n), new JsonObject { ["fixed_ips"] = FixedIp(Id(s), "10.67.0.10") })))
            .Expect(HttpStatusCode.Created).Item("port");
        var moved = (await api.P1.PutAsync($"/v2.0/ports/{Id(p)}", new JsonObject { ["port"] = new JsonObject { ["fixed_ips"] = FixedIp(Id(s), "10.67.0.20") } }))
            .Expect(HttpStatusCode.OK).Item("port");
        Assert.Equal("10.67.0.20", Str(Assert.Single(Assert.IsType<JsonArray>(moved["fixed_ips"]))!, "ip_address"));
        Assert.Equal(2, Revision(moved));
        var reuse = (await api.P1.PostAsync("/v2.0/ports", PortBody(Id(n), new JsonObject { ["fixed_ips"] = FixedIp(Id(s), "10.67.0.10") })))
            .Expect(HttpStatusCode.Created).Item("port");
        Assert.Equal("10.67.0.10", Str(reuse["fixed_ips"]![0]!, "ip_address"));
    }

    [Fact]
    public async Task A_port_update_that_moves_its_address_depends_on_the_subnet_it_leaves_and_the_one_it_joins()
    {
        var (n, left) = await api.P1.CreateNetworkWithSubnetAsync("10.68.0.0/24");
        var joined = await api.P1.CreateSubnetAsync(Id(n), "10.69.0.0/24");
        var p = (await api.P1.PostAsync("/v2.0/ports", PortBody(Id(n), new JsonObject { ["fixed_ips"] = FixedIp(Id(left)) })))
            .Expect(HttpStatusCode.Created).Item("port");
        (await api.P1.PutAsync($"/v2.0/ports/{Id(p)}", new JsonObject { ["port"] = new JsonObject { ["fixed_ips"] = FixedIp(Id(joined)) } }))
            .Expect(HttpStatusCode.OK);

        // Until the update is applied the back end's port still names the subnet it leaves: that subnet's delete waits.
        var dependsOn = await api.Db.ScalarAsync<string>(
            "select array_to_string(depends_on, ',') from outbox_entries where resource_id = $1 and operation = 'update'", Guid.Parse(Id(p)));
        Assert.Equal(new[] { Id(n), Id(left), Id(joined) }.Concat(Strings(p["security_groups"])).Order(), dependsOn.Split(',').Order());
    }
}
