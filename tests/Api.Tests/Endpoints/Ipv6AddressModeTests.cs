using static OutboxSync.Api.Tests.Infrastructure.Neutron;

namespace OutboxSync.Api.Tests.Endpoints;

/// <summary>Neutron's IPv6 address modes: validation, and the EUI-64 addresses of auto-address (SLAAC) subnets.</summary>
public sealed class Ipv6AddressModeTests(ApiFactory api) : IClassFixture<ApiFactory>
{
    private static JsonObject SubnetBody(string networkId, string cidr, JsonObject? extra = null)
    {
        var body = new JsonObject { ["network_id"] = networkId, ["cidr"] = cidr, ["ip_version"] = cidr.Contains(':') ? 6 : 4 };
        Merge(body, extra);
        return new JsonObject { ["subnet"] = body };
    }

    private static JsonObject Modes(string? ra, string? address) => new() { ["ipv6_ra_mode"] = ra, ["ipv6_address_mode"] = address };

    private async Task<JsonObject> SlaacSubnetAsync(string networkId, string cidr) =>
        (await api.P1.PostAsync("/v2.0/subnets", SubnetBody(networkId, cidr, Modes("slaac", "slaac")))).Expect(HttpStatusCode.Created).Item("subnet");

    private static List<(string Subnet, string Ip)> Addresses(JsonNode port) =>
        port["fixed_ips"]!.AsArray().Select(f => (Str(f!, "subnet_id"), Str(f!, "ip_address"))).ToList();

    [Fact]
    public async Task Address_modes_are_stored_shown_and_filterable()
    {
        var n = await api.P1.CreateNetworkAsync();
        var slaac = await SlaacSubnetAsync(Id(n), "2001:db8:a1::/64");
        var stateful = (await api.P1.PostAsync("/v2.0/subnets", SubnetBody(Id(n), "2001:db8:a2::/64", Modes(null, "dhcpv6-stateful"))))
            .Expect(HttpStatusCode.Created).Item("subnet");

        Assert.Equal(("slaac", "slaac"), (Str(slaac, "ipv6_ra_mode"), Str(slaac, "ipv6_address_mode")));
        Assert.Null(stateful["ipv6_ra_mode"]);
        Assert.Equal("dhcpv6-stateful", Str(stateful, "ipv6_address_mode"));
        Assert.Equal("slaac", Str(Assert.Single(await api.Db.OutboxForAsync(Id(slaac))).Payload, "ipv6_address_mode"));
        var listed = (await api.P1.GetAsync($"/v2.0/subnets?network_id={Id(n)}&ipv6_address_mode=slaac")).Expect(HttpStatusCode.OK).Items("subnets");
        Assert.Equal([Id(slaac)], Ids(listed));
    }

    [Theory]
    [InlineData("10.90.0.0/24", "slaac", "slaac", true, "IPv6")]
    [InlineData("2001:db8:b1::/64", "slaac", "dhcpv6-stateful", true, "must be the same value")]
    [InlineData("2001:db8:b2::/64", "slaac", null, false, "enable_dhcp")]
    [InlineData("2001:db8:b3::/80", null, "slaac", true, "/64")]
    [InlineData("2001:db8:b4::/80", "dhcpv6-stateless", "dhcpv6-stateless", true, "/64")]
    [InlineData("2001:db8:b5::/64", "slaac-ish", null, true, "ipv6_ra_mode")]
    [InlineData("2001:db8:b6::/64", null, "SLAAC", true, "ipv6_address_mode")]
    public async Task Invalid_mode_combinations_are_refused_and_write_nothing(string cidr, string? ra, string? address, bool dhcp, string reason)
    {
        var n = await api.P1.CreateNetworkAsync();
        var before = await api.Db.FingerprintAsync();
        var body = Modes(ra, address);
        body["enable_dhcp"] = dhcp;
        var error = (await api.P1.PostAsync("/v2.0/subnets", SubnetBody(Id(n), cidr, body))).ExpectNeutronError(HttpStatusCode.BadRequest);
        Assert.Contains(reason, error["message"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Equal(before, await api.Db.FingerprintAsync());
    }

    [Fact]
    public async Task Modes_cannot_change_and_dhcp_stays_on_while_they_are_set()
    {
        var n = await api.P1.CreateNetworkAsync();
        var slaac = await SlaacSubnetAsync(Id(n), "2001:db8:c1::/64");
        (await api.P1.PutAsync($"/v2.0/subnets/{Id(slaac)}", new JsonObject { ["subnet"] = new JsonObject { ["ipv6_address_mode"] = "dhcpv6-stateful" } }))
            .ExpectNeutronError(HttpStatusCode.BadRequest);
        (await api.P1.PutAsync($"/v2.0/subnets/{Id(slaac)}", new JsonObject { ["subnet"] = new JsonObject { ["enable_dhcp"] = false } }))
            .ExpectNeutronError(HttpStatusCode.BadRequest, "InvalidInput");
    }

    [Fact]
    public async Task A_port_holds_its_eui64_address_on_every_slaac_subnet_beside_its_chosen_ones()
    {
        var n = await api.P1.CreateNetworkAsync();
        var v4 = await api.P1.CreateSubnetAsync(Id(n), "10.91.0.0/24");
        var slaac = await SlaacSubnetAsync(Id(n), "2001:db8:d1::/64");
        var stateful = (await api.P1.PostAsync("/v2.0/subnets", SubnetBody(Id(n), "2001:db8:d2::/64", Modes("dhcpv6-stateful", "dhcpv6-stateful"))))
            .Expect(HttpStatusCode.Created).Item("subnet");

        var port = await api.P1.CreatePortAsync(Id(n), new JsonObject { ["mac_address"] = "fa:16:3e:00:11:22" });
        var held = Addresses(port);
        Assert.Equal(3, held.Count);
        Assert.Contains((Id(slaac), "2001:db8:d1:0:f816:3eff:fe00:1122"), held);
        Assert.StartsWith("10.91.0.", held.Single(h => h.Subnet == Id(v4)).Ip);
        Assert.StartsWith("2001:db8:d2:", held.Single(h => h.Subnet == Id(stateful)).Ip);
        Assert.NotEqual("2001:db8:d2:0:f816:3eff:fe00:1122", held.Single(h => h.Subnet == Id(stateful)).Ip);

        // Asked-for addresses elsewhere: the SLAAC address still comes with them.
        var chosen = await api.P1.CreatePortAsync(Id(n), new JsonObject
        {
            ["mac_address"] = "fa:16:3e:00:11:33",
            ["fixed_ips"] = new JsonArray(new JsonObject { ["subnet_id"] = Id(v4), ["ip_address"] = "10.91.0.77" }),
        });
        Assert.Equal(new[] { (Id(v4), "10.91.0.77"), (Id(slaac), "2001:db8:d1:0:f816:3eff:fe00:1133") }.Order(), Addresses(chosen).Order());

        var error = (await api.P1.PostAsync("/v2.0/ports", new JsonObject
        {
            ["port"] = new JsonObject
            {
                ["network_id"] = Id(n),
                ["fixed_ips"] = new JsonArray(new JsonObject { ["subnet_id"] = Id(slaac), ["ip_address"] = "2001:db8:d1::5" }),
            },
        })).ExpectNeutronError(HttpStatusCode.BadRequest);
        Assert.Contains("automatic addresses", error["message"]!.GetValue<string>(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Adding_a_slaac_subnet_gives_existing_ports_their_addresses_and_deleting_it_takes_them_back()
    {
        var n = await api.P1.CreateNetworkAsync();
        await api.P1.CreateSubnetAsync(Id(n), "10.92.0.0/24");
        var port = await api.P1.CreatePortAsync(Id(n), new JsonObject { ["mac_address"] = "fa:16:3e:00:22:44" });
        var router = await api.P1.CreateRouterAsync();

        var slaac = await SlaacSubnetAsync(Id(n), "2001:db8:e1::/64");
        var updated = await api.P1.ShowAsync("ports", Id(port), "port");
        Assert.Contains((Id(slaac), "2001:db8:e1:0:f816:3eff:fe00:2244"), Addresses(updated));
        Assert.Equal(2, Revision(updated));
        var subnetCreate = Assert.Single(await api.Db.OutboxForAsync(Id(slaac)));
        var portChange = (await api.Db.OutboxForAsync(Id(port))).Single(e => e.Revision == 2);
        Assert.True(subnetCreate.Seq < portChange.Seq);
        Assert.Contains(Addresses(portChange.Payload), a => a.Subnet == Id(slaac));

        // A router interface on it holds the gateway only.
        var added = (await api.P1.PutAsync($"/v2.0/routers/{Id(router)}/add_router_interface", new JsonObject { ["subnet_id"] = Id(slaac) }))
            .Expect(HttpStatusCode.OK).Json;
        var iface = await api.P1.ShowAsync("ports", Str(added, "port_id"), "port");
        Assert.Equal([(Id(slaac), "2001:db8:e1::1")], Addresses(iface));
        (await api.P1.PutAsync($"/v2.0/routers/{Id(router)}/remove_router_interface", new JsonObject { ["subnet_id"] = Id(slaac) }))
            .Expect(HttpStatusCode.OK);

        (await api.P1.DeleteAsync($"/v2.0/subnets/{Id(slaac)}")).Expect(HttpStatusCode.NoContent);
        var after = await api.P1.ShowAsync("ports", Id(port), "port");
        Assert.DoesNotContain(Addresses(after), a => a.Subnet == Id(slaac));
        Assert.Equal(3, Revision(after));
        var portRelease = (await api.Db.OutboxForAsync(Id(port))).Single(e => e.Revision == 3);
        var subnetDelete = (await api.Db.OutboxForAsync(Id(slaac))).Single(e => e.Operation == "delete");
        Assert.True(portRelease.Seq < subnetDelete.Seq);
        Assert.Equal(1, await api.Db.ScalarAsync<long>(
            "select count(*) from outbox_entries where seq = $1 and depends_on @> array[$2]::uuid[]", portRelease.Seq, Guid.Parse(Id(slaac))));
    }
}
