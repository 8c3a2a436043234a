using static OutboxSync.Api.Tests.Infrastructure.Neutron;

namespace OutboxSync.Api.Tests.Endpoints;

public sealed class SubnetsTests(ApiFactory api) : IClassFixture<ApiFactory>
{
    private static JsonObject SubnetBody(string networkId, string cidr, int ipVersion, JsonObject? extra = null)
    {
        var body = new JsonObject { ["network_id"] = networkId, ["cidr"] = cidr, ["ip_version"] = ipVersion };
        Merge(body, extra);
        return new JsonObject { ["subnet"] = body };
    }

    [Fact]
    public async Task Creating_an_ipv4_subnet_is_201_with_the_first_host_as_gateway_and_the_rest_as_pool()
    {
        var n = await api.P1.CreateNetworkAsync();
        var response = (await api.P1.PostAsync("/v2.0/subnets", SubnetBody(Id(n), "10.0.0.0/24", 4,
            new JsonObject { ["name"] = "s1", ["description"] = "d" }))).Expect(HttpStatusCode.Created);
        var s = response.Item("subnet");

        Assert.EndsWith($"/v2.0/subnets/{Id(s)}", response.Location!.ToString());
        Assert.Equal("s1", Str(s, "name"));
        Assert.Equal("d", Str(s, "description"));
        Assert.Equal(Id(n), Str(s, "network_id"));
        Assert.Equal("10.0.0.0/24", Str(s, "cidr"));
        Assert.Equal(4, s["ip_version"]!.GetValue<int>());
        Assert.Equal("10.0.0.1", Str(s, "gateway_ip"));
        var pool = Assert.Single(Assert.IsType<JsonArray>(s["allocation_pools"]));
        Assert.Equal("10.0.0.2", Str(pool!, "start"));
        Assert.Equal("10.0.0.254", Str(pool!, "end"));
        Assert.True(s["enable_dhcp"]!.GetValue<bool>());
        Assert.Empty(Assert.IsType<JsonArray>(s["dns_nameservers"]));
        Assert.Empty(Assert.IsType<JsonArray>(s["host_routes"]));
        Assert.Equal(ApiFactory.Project1, Str(s, "project_id"));
        Assert.Equal(ApiFactory.Project1, Str(s, "tenant_id"));
        Assert.Equal("PENDING_CREATE", Str(s, "status"));
        Assert.Equal(1, Revision(s));
        AssertTimestamp(s, "created_at");
        AssertTimestamp(s, "updated_at");
        Assert.Empty(Assert.IsType<JsonArray>(s["tags"]));

        var entry = Assert.Single(await api.Db.OutboxForAsync(Id(s)));
        Assert.Equal(("subnet", "create", 1L), (entry.ResourceType, entry.Operation, entry.Revision));
        Assert.Equal("10.0.0.0/24", Str(entry.Payload, "cidr"));

        Assert.True(JsonNode.DeepEquals(s, await api.P1.ShowAsync("subnets", Id(s), "subnet")));
    }

    [Fact]
    public async Task Creating_an_ipv6_subnet_uses_the_first_address_after_the_network_as_gateway()
    {
        var n = await api.P1.CreateNetworkAsync();
        var s = (await api.P1.PostAsync("/v2.0/subnets", SubnetBody(Id(n), "2001:db8:1::/64", 6))).Expect(HttpStatusCode.Created).Item("subnet");
        Assert.Equal(6, s["ip_version"]!.GetValue<int>());
        Assert.Equal("2001:db8:1::/64", Str(s, "cidr"));
        Assert.Equal("2001:db8:1::1", Str(s, "gateway_ip"));
        var pool = Assert.Single(Assert.IsType<JsonArray>(s["allocation_pools"]));
        Assert.Equal("2001:db8:1::2", Str(pool!, "start"));
    }

    [Fact]
    public async Task Explicit_gateway_pools_dns_and_host_routes_are_kept()
    {
        var n = await api.P1.CreateNetworkAsync();
        var s = (await api.P1.PostAsync("/v2.0/subnets", SubnetBody(Id(n), "192.168.10.0/24", 4, new JsonObject
        {
            ["gateway_ip"] = "192.168.10.254",
            ["allocation_pools"] = new JsonArray(
                new JsonObject { ["start"] = "192.168.10.10", ["end"] = "192.168.10.19" },
                new JsonObject { ["start"] = "192.168.10.100", ["end"] = "192.168.10.110" }),
            ["enable_dhcp"] = false,
            ["dns_nameservers"] = new JsonArray("8.8.8.8", "1.1.1.1"),
            ["host_routes"] = new JsonArray(new JsonObject { ["destination"] = "172.16.0.0/16", ["nexthop"] = "192.168.10.5" }),
        }))).Expect(HttpStatusCode.Created).Item("subnet");

        Assert.Equal("192.168.10.254", Str(s, "gateway_ip"));
        var pools = Assert.IsType<JsonArray>(s["allocation_pools"]);
        Assert.Equal(2, pools.Count);
        Assert.Equal("192.168.10.10", Str(pools[0]!, "start"));
        Assert.Equal("192.168.10.110", Str(pools[1]!, "end"));
        Assert.False(s["enable_dhcp"]!.GetValue<bool>());
        Assert.Equal(["8.8.8.8", "1.1.1.1"], Strings(s["dns_nameservers"]));
        Assert.Equal("172.16.0.0/16", Str(s["host_routes"]![0]!, "destination"));
        Assert.Equal("192.168.10.5", Str(s["host_routes"]![0]!, "nexthop"));
    }

    [Theory]
    [InlineData("10.0.0.1/24", 4)]       // not the network address
    [InlineData("10.0.0.0/33", 4)]       // prefix too long
    [InlineData("10.0.0.256/24", 4)]     // not an address
    [InlineData("not-a-cidr", 4)]
    [InlineData("10.0.0.0", 4)]          // no prefix
    [InlineData("", 4)]
    [InlineData("2001:db8::/64", 4)]     // IPv6 CIDR with ip_version 4
    [InlineData("10.0.0.0/24", 6)]       // IPv4 CIDR with ip_version 6
    [InlineData("2001:db8::1/64", 6)]    // not the network address
    [InlineData("2001:db8::/129", 6)]
    [InlineData("10.0.0.0/24", 5)]       // no such ip_version
    public async Task Creating_a_subnet_with_an_invalid_or_mismatched_cidr_is_400_and_changes_nothing(string cidr, int ipVersion)
    {
        var n = await api.P1.CreateNetworkAsync();
        var before = await api.Db.FingerprintAsync();
        (await api.P1.PostAsync("/v2.0/subnets", SubnetBody(Id(n), cidr, ipVersion))).ExpectNeutronError(HttpStatusCode.BadRequest);
        Assert.Equal(before, await api.Db.FingerprintAsync());
    }

    [Theory]
    [InlineData("10.0.1.1")]       // outside the CIDR
    [InlineData("not-an-ip")]
    [InlineData("2001:db8::1")]    // wrong family
    public async Task Creating_a_subnet_with_a_gateway_outside_its_cidr_is_400(string gateway)
    {
        var n = await api.P1.CreateNetworkAsync();
        var before = await api.Db.FingerprintAsync();
        (await api.P1.PostAsync("/v2.0/subnets", SubnetBody(Id(n), "10.0.0.0/24", 4, new JsonObject { ["gateway_ip"] = gateway })))
            .ExpectNeutronError(HttpStatusCode.BadRequest);
        Assert.Equal(before, await api.Db.FingerprintAsync());
    }

    public static TheoryData<string, string, string, string> BadPools() => new()
    {
        { "10.0.1.10", "10.0.1.20", "10.0.0.10", "10.0.0.20" },    // first pool outside the CIDR
        { "10.0.0.200", "10.0.1.5", "10.0.0.10", "10.0.0.20" },    // first pool crosses the CIDR's end
        { "10.0.0.10", "10.0.0.20", "10.0.0.15", "10.0.0.30" },    // overlapping pools
        { "10.0.0.50", "10.0.0.40", "10.0.0.10", "10.0.0.20" },    // start after end
        { "10.0.0.0", "10.0.0.20", "10.0.0.100", "10.0.0.120" },   // includes the network address
        { "10.0.0.10", "garbage", "10.0.0.100", "10.0.0.120" },
    };

    [Theory]
    [MemberData(nameof(BadPools))]
    public async Task Allocation_pools_outside_the_cidr_or_overlapping_are_400(string start1, string end1, string start2, string end2)
    {
        var n = await api.P1.CreateNetworkAsync();
        var before = await api.Db.FingerprintAsync();
        var pools = new JsonArray(
            new JsonObject { ["start"] = start1, ["end"] = end1 },
            new JsonObject { ["start"] = start2, ["end"] = end2 });
        (await api.P1.PostAsync("/v2.0/subnets", SubnetBody(Id(n), "10.0.0.0/24", 4, new JsonObject { ["allocation_pools"] = pools })))
            .ExpectNeutronError(HttpStatusCode.BadRequest);
        Assert.Equal(before, await api.Db.FingerprintAsync());
    }

    [Theory]
    [InlineData("10.0.0.0/24", "10.0.0.128/25")]
    [InlineData("10.0.0.0/24", "10.0.0.0/24")]
    [InlineData("10.0.0.128/25", "10.0.0.0/16")]
    [InlineData("2001:db8::/64", "2001:db8::/48")]
    public async Task Overlapping_cidrs_on_one_network_are_400(string first, string second)
    {
        var n = await api.P1.CreateNetworkAsync();
        await api.P1.CreateSubnetAsync(Id(n), first);
        var before = await api.Db.FingerprintAsync();
        (await api.P1.PostAsync("/v2.0/subnets", SubnetBody(Id(n), second, second.Contains(':') ? 6 : 4)))
            .ExpectNeutronError(HttpStatusCode.BadRequest);
        Assert.Equal(before, await api.Db.FingerprintAsync());
    }

    [Fact]
    public async Task The_same_cidr_on_two_networks_is_allowed()
    {
        var n1 = await api.P1.CreateNetworkAsync();
        var n2 = await api.P1.CreateNetworkAsync();
        await api.P1.CreateSubnetAsync(Id(n1), "10.9.0.0/24");
        await api.P1.CreateSubnetAsync(Id(n2), "10.9.0.0/24");
    }

    [Fact]
    public async Task Creating_a_subnet_on_another_projects_private_network_is_404()
    {
        var foreign = await api.P2.CreateNetworkAsync();
        var before = await api.Db.FingerprintAsync();
        (await api.P1.PostAsync("/v2.0/subnets", SubnetBody(Id(foreign), "10.0.0.0/24", 4))).ExpectNeutronError(HttpStatusCode.NotFound);
        (await api.P1.PostAsync("/v2.0/subnets", SubnetBody(Guid.NewGuid().ToString(), "10.0.0.0/24", 4))).ExpectNeutronError(HttpStatusCode.NotFound);
        Assert.Equal(before, await api.Db.FingerprintAsync());
    }

    [Fact]
    public async Task Admin_may_create_a_subnet_on_any_projects_network()
    {
        var n = await api.P2.CreateNetworkAsync();
        var s = (await api.Admin.PostAsync("/v2.0/subnets", SubnetBody(Id(n), "10.0.0.0/24", 4,
            new JsonObject { ["project_id"] = ApiFactory.Project2 }))).Expect(HttpStatusCode.Created).Item("subnet");
        Assert.Equal(ApiFactory.Project2, Str(s, "project_id"));
        await api.P2.ShowAsync("subnets", Id(s), "subnet");
    }

    [Fact]
    public async Task Creating_a_subnet_on_a_network_being_deleted_is_rejected()
    {
        var n = await api.P1.CreateNetworkAsync();
        (await api.P1.DeleteAsync($"/v2.0/networks/{Id(n)}")).Expect(HttpStatusCode.NoContent);
        var before = await api.Db.FingerprintAsync();
        var response = await api.P1.PostAsync("/v2.0/subnets", SubnetBody(Id(n), "10.0.0.0/24", 4));
        Assert.True((int)response.Status is 404 or 409 or 400, $"expected a 4xx rejection, got {response.Status}: {response.Text}");
        Assert.Equal(before, await api.Db.FingerprintAsync());
    }

    [Fact]
    public async Task Updating_a_subnet_is_200_with_the_next_revision_and_one_update_entry()
    {
        var (_, s) = await api.P1.CreateNetworkWithSubnetAsync();
        var updated = (await api.P1.PutAsync($"/v2.0/subnets/{Id(s)}", new JsonObject
        {
            ["subnet"] = new JsonObject { ["name"] = "renamed", ["dns_nameservers"] = new JsonArray("9.9.9.9"), ["enable_dhcp"] = false },
        })).Expect(HttpStatusCode.OK).Item("subnet");
        Assert.Equal("renamed", Str(updated, "name"));
        Assert.Equal(["9.9.9.9"], Strings(updated["dns_nameservers"]));
        Assert.False(updated["enable_dhcp"]!.GetValue<bool>());
        Assert.Equal(2, Revision(updated));
        Assert.Equal("PENDING_CREATE", Str(updated, "status"));
        Assert.Equal(["create", "update"], (await api.Db.OutboxForAsync(Id(s))).Select(e => e.Operation));

        await api.Db.MarkActiveAsync("subnets", Id(s));
        var again = (await api.P1.PutAsync($"/v2.0/subnets/{Id(s)}", new JsonObject { ["subnet"] = new JsonObject { ["name"] = "again" } }))
            .Expect(HttpStatusCode.OK).Item("subnet");
        Assert.Equal("PENDING_UPDATE", Str(again, "status"));
        Assert.Equal(3, Revision(again));
    }

    [Theory]
    [InlineData("cidr", "\"10.5.0.0/24\"")]
    [InlineData("ip_version", "6")]
    [InlineData("network_id", "\"00000000-0000-0000-0000-000000000001\"")]
    [InlineData("id", "\"00000000-0000-0000-0000-000000000001\"")]
    public async Task Updating_a_read_only_subnet_attribute_is_400(string attribute, string json)
    {
        var (_, s) = await api.P1.CreateNetworkWithSubnetAsync();
        var before = await api.Db.FingerprintAsync();
        (await api.P1.PutAsync($"/v2.0/subnets/{Id(s)}", $"{{\"subnet\": {{\"{attribute}\": {json}}}}}")).ExpectNeutronError(HttpStatusCode.BadRequest);
        Assert.Equal(before, await api.Db.FingerprintAsync());
    }

    [Fact]
    public async Task Deleting_a_subnet_is_204_and_it_shows_PENDING_DELETE()
    {
        var (n, s) = await api.P1.CreateNetworkWithSubnetAsync();
        (await api.P1.DeleteAsync($"/v2.0/subnets/{Id(s)}")).Expect(HttpStatusCode.NoContent);
        Assert.Equal("PENDING_DELETE", Str(await api.P1.ShowAsync("subnets", Id(s), "subnet"), "status"));
        Assert.True(await api.Db.ExistsAsync("subnets", Id(s)));
        Assert.Equal(["create", "delete"], (await api.Db.OutboxForAsync(Id(s))).Select(e => e.Operation));
        // The network changed with it (Neutron bumps a subnet's network): its last entry no longer lists the subnet.
        var networkEntries = await api.Db.OutboxForAsync(Id(n));
        Assert.Equal(["create", "update", "update"], networkEntries.Select(e => e.Operation));
        Assert.Empty(Assert.IsType<JsonArray>(networkEntries[^1].Payload["subnets"]));
    }

    [Fact]
    public async Task Creating_updating_and_deleting_a_subnet_each_move_its_networks_revision_and_updated_at_as_in_neutron()
    {
        var n = await api.P1.CreateNetworkAsync();
        await api.Db.MarkActiveAsync("networks", Id(n));
        var revisions = new List<long> { Revision(n) };
        // The view's updated_at has whole seconds, as Neutron's; the row's microseconds show every move.
        async Task<DateTime> StampAsync() => await api.Db.ScalarAsync<DateTime>("select updated_at from networks where id = $1", Guid.Parse(Id(n)));
        var stamps = new List<DateTime> { await StampAsync() };
        async Task RecordAsync()
        {
            revisions.Add(Revision(await api.P1.ShowAsync("networks", Id(n), "network")));
            stamps.Add(await StampAsync());
        }

        var s = (await api.P1.PostAsync("/v2.0/subnets", SubnetBody(Id(n), "10.61.0.0/24", 4))).Expect(HttpStatusCode.Created).Item("subnet");
        await RecordAsync();
        Assert.Equal("PENDING_UPDATE", Str(await api.P1.ShowAsync("networks", Id(n), "network"), "status"));
        (await api.P1.PutAsync($"/v2.0/subnets/{Id(s)}", new JsonObject { ["subnet"] = new JsonObject { ["name"] = "renamed" } })).Expect(HttpStatusCode.OK);
        await RecordAsync();
        (await api.P1.DeleteAsync($"/v2.0/subnets/{Id(s)}")).Expect(HttpStatusCode.NoContent);
        await RecordAsync();

        Assert.Equal([1L, 2L, 3L, 4L], revisions);
        Assert.True(stamps.Zip(stamps.Skip(1)).All(p => p.Second > p.First), string.Join(", ", stamps.Select(t => t.ToString("O"))));
        // Each bump is the network's next entry at that revision, sent with the subnet list as it will be.
        var entries = await api.Db.OutboxForAsync(Id(n));
        Assert.Equal([("create", 1L), ("update", 2L), ("update", 3L), ("update", 4L)], entries.Select(e => (e.Operation, e.Revision)));
        Assert.Equal([Id(s)], Strings(entries[1].Payload["subnets"]));
        Assert.Equal([Id(s)], Strings(entries[2].Payload["subnets"]));
        Assert.Empty(Strings(entries[3].Payload["subnets"]));
        Assert.Equal(4, Revision(entries[3].Payload));
    }

    [Fact]
    public async Task A_bulk_create_of_subnets_on_one_network_moves_its_revision_once()
    {
        var n = await api.P1.CreateNetworkAsync();
        var created = (await api.P1.PostAsync("/v2.0/subnets", new JsonObject
        {
            ["subnets"] = new JsonArray(
                new JsonObject { ["network_id"] = Id(n), ["cidr"] = "10.62.0.0/24", ["ip_version"] = 4 },
                new JsonObject { ["network_id"] = Id(n), ["cidr"] = "10.62.1.0/24", ["ip_version"] = 4 }),
        })).Expect(HttpStatusCode.Created).Items("subnets");

        Assert.Equal(2, Revision(await api.P1.ShowAsync("networks", Id(n), "network")));
        var update = (await api.Db.OutboxForAsync(Id(n)))[^1];
        Assert.Equal(("update", 2L), (update.Operation, update.Revision));
        Assert.Equal(Ids(created).Order(), Strings(update.Payload["subnets"]).Order());
    }

    [Fact]
    public async Task Deleting_a_subnet_with_ports_is_409_SubnetInUse()
    {
        var (n, s) = await api.P1.CreateNetworkWithSubnetAsync();
        await api.P1.CreatePortAsync(Id(n));
        var before = await api.Db.FingerprintAsync();
        (await api.P1.DeleteAsync($"/v2.0/subnets/{Id(s)}")).ExpectNeutronError(HttpStatusCode.Conflict, "SubnetInUse");
        Assert.Equal(before, await api.Db.FingerprintAsync());
    }

    [Fact]
    public async Task A_port_already_PENDING_DELETE_does_not_block_its_subnets_delete()
    {
        var (n, s) = await api.P1.CreateNetworkWithSubnetAsync();
        var port = await api.P1.CreatePortAsync(Id(n));
        (await api.P1.DeleteAsync($"/v2.0/ports/{Id(port)}")).Expect(HttpStatusCode.NoContent);
        (await api.P1.DeleteAsync($"/v2.0/subnets/{Id(s)}")).Expect(HttpStatusCode.NoContent);
    }

    [Fact]
    public async Task Subnet_delete_honours_If_Match()
    {
        var (_, s) = await api.P1.CreateNetworkWithSubnetAsync();
        (await api.P1.DeleteAsync($"/v2.0/subnets/{Id(s)}", ifMatch: "revision_number=7")).ExpectNeutronError(HttpStatusCode.PreconditionFailed);
        (await api.P1.PutAsync($"/v2.0/subnets/{Id(s)}", new JsonObject { ["subnet"] = new JsonObject { ["name"] = "x" } },
            ifMatch: "revision_number=7")).ExpectNeutronError(HttpStatusCode.PreconditionFailed);
        (await api.P1.DeleteAsync($"/v2.0/subnets/{Id(s)}", ifMatch: "revision_number=1")).Expect(HttpStatusCode.NoContent);
    }

    [Fact]
    public async Task Bulk_subnet_create_with_one_invalid_item_creates_nothing()
    {
        var n = await api.P1.CreateNetworkAsync();
        var before = await api.Db.FingerprintAsync();
        var body = new JsonObject
        {
            ["subnets"] = new JsonArray(
                new JsonObject { ["network_id"] = Id(n), ["cidr"] = "10.20.0.0/24", ["ip_version"] = 4 },
                new JsonObject { ["network_id"] = Id(n), ["cidr"] = "10.21.0.1/24", ["ip_version"] = 4 }),
        };
        (await api.P1.PostAsync("/v2.0/subnets", body)).ExpectNeutronError(HttpStatusCode.BadRequest);
        Assert.Equal(before, await api.Db.FingerprintAsync());
    }

    [Fact]
    public async Task Bulk_subnets_that_overlap_each_other_are_rejected_together()
    {
        var n = await api.P1.CreateNetworkAsync();
        var before = await api.Db.FingerprintAsync();
        var body = new JsonObject
        {
            ["subnets"] = new JsonArray(
                new JsonObject { ["network_id"] = Id(n), ["cidr"] = "10.30.0.0/24", ["ip_version"] = 4 },
                new JsonObject { ["network_id"] = Id(n), ["cidr"] = "10.30.0.0/25", ["ip_version"] = 4 }),
        };
        (await api.P1.PostAsync("/v2.0/subnets", body)).ExpectNeutronError(HttpStatusCode.BadRequest);
        Assert.Equal(before, await api.Db.FingerprintAsync());
    }

    [Fact]
    public async Task A_subnet_without_a_gateway_pools_from_the_first_host()
    {
        var n = await api.P1.CreateNetworkAsync();
        var s = (await api.P1.PostAsync("/v2.0/subnets", SubnetBody(Id(n), "10.50.0.0/29", 4, new JsonObject { ["gateway_ip"] = null })))
            .Expect(HttpStatusCode.Created).Item("subnet");
        Assert.Null(s["gateway_ip"]);
        var pool = Assert.Single(Assert.IsType<JsonArray>(s["allocation_pools"]));
        Assert.Equal("10.50.0.1", Str(pool!, "start"));
        Assert.Equal("10.50.0.6", Str(pool!, "end"));
    }

    [Fact]
    public async Task A_gateway_inside_an_allocation_pool_is_rejected()
    {
        var n = await api.P1.CreateNetworkAsync();
        var before = await api.Db.FingerprintAsync();
        var response = await api.P1.PostAsync("/v2.0/subnets", SubnetBody(Id(n), "10.51.0.0/24", 4, new JsonObject
        {
            ["gateway_ip"] = "10.51.0.10",
            ["allocation_pools"] = new JsonArray(new JsonObject { ["start"] = "10.51.0.2", ["end"] = "10.51.0.50" }),
        }));
        response.ExpectOneOf(HttpStatusCode.BadRequest, HttpStatusCode.Conflict);
        response.ExpectNeutronError(response.Status);
        Assert.Equal(before, await api.Db.FingerprintAsync());
    }

    [Fact]
    public async Task Updating_a_subnets_gateway_outside_its_cidr_is_400()
    {
        var (_, s) = await api.P1.CreateNetworkWithSubnetAsync("10.52.0.0/24");
        var before = await api.Db.FingerprintAsync();
        (await api.P1.PutAsync($"/v2.0/subnets/{Id(s)}", new JsonObject { ["subnet"] = new JsonObject { ["gateway_ip"] = "10.99.0.1" } }))
            .ExpectNeutronError(HttpStatusCode.BadRequest);
        Assert.Equal(before, await api.Db.FingerprintAsync());
    }

    [Fact]
    public async Task Another_project_cannot_add_a_subnet_to_a_shared_network()
    {
        var shared = await api.Admin.CreateNetworkAsync(extra: new JsonObject { ["shared"] = true });
        var before = await api.Db.FingerprintAsync();
        (await api.P1.PostAsync("/v2.0/subnets", SubnetBody(Id(shared), "10.53.0.0/24", 4)))
            .ExpectOneOf(HttpStatusCode.Forbidden, HttpStatusCode.NotFound);
        Assert.Equal(before, await api.Db.FingerprintAsync());
    }

    [Theory]
    [InlineData("10.54.0.0/24", "10.54.0.0/24")]
    [InlineData("2001:db8:54::/64", "2001:db8:54::/64")]
    public async Task A_non_canonical_but_equal_cidr_is_accepted_or_rejected_but_never_500(string cidr, string expected)
    {
        var n = await api.P1.CreateNetworkAsync();
        var s = (await api.P1.PostAsync("/v2.0/subnets", SubnetBody(Id(n), cidr.ToUpperInvariant(), cidr.Contains(':') ? 6 : 4)));
        if (s.Status == HttpStatusCode.Created)
        {
            Assert.Equal(expected, Str(s.Item("subnet"), "cidr"));
        }
        else
        {
            s.ExpectNeutronError(HttpStatusCode.BadRequest);
        }
    }

    [Fact]
    public async Task A_subnets_create_entry_depends_on_its_network()
    {
        var (n, s) = await api.P1.CreateNetworkWithSubnetAsync("10.55.0.0/24");
        var dependsOn = await api.Db.ScalarAsync<string>("select array_to_string(depends_on, ',') from outbox_entries where resource_id = $1",
            Guid.Parse(Id(s)));
        Assert.Contains(Id(n), dependsOn.Split(','));
    }

    [Fact]
    public async Task Creating_a_subnet_without_ip_version_is_400_as_in_neutron()
    {
        var n = await api.P1.CreateNetworkAsync();
        var before = await api.Db.FingerprintAsync();
        var error = (await api.P1.PostAsync("/v2.0/subnets",
                new JsonObject { ["subnet"] = new JsonObject { ["network_id"] = Id(n), ["cidr"] = "10.56.0.0/24" } }))
            .ExpectNeutronError(HttpStatusCode.BadRequest, "HTTPBadRequest");
        Assert.Contains("'ip_version'", error["message"]!.GetValue<string>());
        Assert.Equal(before, await api.Db.FingerprintAsync());
    }

    [Fact]
    public async Task Creating_an_ipv6_subnet_on_a_network_with_an_mtu_below_1280_is_400()
    {
        var small = await api.P1.CreateNetworkAsync(extra: new JsonObject { ["mtu"] = 1279 });
        var before = await api.Db.FingerprintAsync();
        (await api.P1.PostAsync("/v2.0/subnets", SubnetBody(Id(small), "2001:db8:57::/64", 6))).ExpectNeutronError(HttpStatusCode.BadRequest, "InvalidInput");
        Assert.Equal(before, await api.Db.FingerprintAsync());
        // IPv4 is fine there, and IPv6 is fine at 1280.
        await api.P1.CreateSubnetAsync(Id(small), "10.57.0.0/24");
        var enough = await api.P1.CreateNetworkAsync(extra: new JsonObject { ["mtu"] = 1280 });
        await api.P1.CreateSubnetAsync(Id(enough), "2001:db8:58::/64");
    }
}
