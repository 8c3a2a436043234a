using static OutboxSync.Api.Tests.Infrastructure.Neutron;

namespace OutboxSync.Api.Tests.Endpoints;

public sealed class RoutersTests(ApiFactory api) : IClassFixture<ApiFactory>
{
    private Task<ApiResponse> AddInterface(ApiClient client, string routerId, JsonObject body) =>
        client.PutAsync($"/v2.0/routers/{routerId}/add_router_interface", body);

    private Task<ApiResponse> RemoveInterface(ApiClient client, string routerId, JsonObject body) =>
        client.PutAsync($"/v2.0/routers/{routerId}/remove_router_interface", body);

    /// <summary>
    /// A removal is accepted like any delete: the interface port is PENDING_DELETE (or already gone) with one
    /// remove_interface entry, and it no longer blocks the router's delete.
    /// </summary>
    private async Task AssertInterfaceRemovalAcceptedAsync(string routerId, string portId)
    {
        var port = await api.P1.GetAsync($"/v2.0/ports/{portId}");
        Assert.True(port.Status == HttpStatusCode.NotFound || Str(port.Item("port"), "status") == "PENDING_DELETE",
            $"the interface port should be gone or PENDING_DELETE: {port.Text}");
        Assert.Single(await api.Db.OutboxForAsync(portId), e => e.Operation == "remove_interface");
        (await api.P1.DeleteAsync($"/v2.0/routers/{routerId}")).Expect(HttpStatusCode.NoContent);
    }

    [Fact]
    public async Task Creating_a_router_is_201_with_neutron_fields_in_PENDING_CREATE()
    {
        var response = (await api.P1.PostAsync("/v2.0/routers",
            new JsonObject { ["router"] = new JsonObject { ["name"] = "r1", ["description"] = "edge" } })).Expect(HttpStatusCode.Created);
        var r = response.Item("router");
        Assert.EndsWith($"/v2.0/routers/{Id(r)}", response.Location!.ToString());
        Assert.Equal("r1", Str(r, "name"));
        Assert.Equal("edge", Str(r, "description"));
        Assert.Equal(ApiFactory.Project1, Str(r, "project_id"));
        Assert.Equal(ApiFactory.Project1, Str(r, "tenant_id"));
        Assert.True(r["admin_state_up"]!.GetValue<bool>());
        Assert.Equal("PENDING_CREATE", Str(r, "status"));
        Assert.Equal(1, Revision(r));
        Assert.True(r.ContainsKey("external_gateway_info"));
        Assert.Null(r["external_gateway_info"]);
        Assert.Empty(Assert.IsType<JsonArray>(r["routes"]));
        AssertTimestamp(r, "created_at");
        AssertTimestamp(r, "updated_at");
        Assert.Empty(Assert.IsType<JsonArray>(r["tags"]));

        var entry = Assert.Single(await api.Db.OutboxForAsync(Id(r)));
        Assert.Equal(("router", "create", 1L), (entry.ResourceType, entry.Operation, entry.Revision));
        Assert.True(JsonNode.DeepEquals(r, await api.P1.ShowAsync("routers", Id(r), "router")));
    }

    [Fact]
    public async Task A_router_with_an_external_gateway_shows_it()
    {
        var external = await api.Admin.CreateNetworkAsync(extra: new JsonObject { ["router:external"] = true, ["shared"] = true });
        await api.Admin.CreateSubnetAsync(Id(external), "203.0.113.0/24");
        var r = await api.P1.CreateRouterAsync(extra: new JsonObject
        {
            ["external_gateway_info"] = new JsonObject { ["network_id"] = Id(external) },
        });
        Assert.Equal(Id(external), Str(r["external_gateway_info"]!, "network_id"));
    }

    [Fact]
    public async Task Updating_a_router_is_200_with_the_next_revision_and_one_update_entry()
    {
        var r = await api.P1.CreateRouterAsync();
        var updated = (await api.P1.PutAsync($"/v2.0/routers/{Id(r)}",
            new JsonObject { ["router"] = new JsonObject { ["name"] = "renamed", ["admin_state_up"] = false } })).Expect(HttpStatusCode.OK).Item("router");
        Assert.Equal("renamed", Str(updated, "name"));
        Assert.False(updated["admin_state_up"]!.GetValue<bool>());
        Assert.Equal(2, Revision(updated));
        Assert.Equal(["create", "update"], (await api.Db.OutboxForAsync(Id(r))).Select(e => e.Operation));

        await api.Db.MarkActiveAsync("routers", Id(r));
        var again = (await api.P1.PutAsync($"/v2.0/routers/{Id(r)}", new JsonObject { ["router"] = new JsonObject { ["name"] = "x" } }))
            .Expect(HttpStatusCode.OK).Item("router");
        Assert.Equal("PENDING_UPDATE", Str(again, "status"));
    }

    [Fact]
    public async Task Deleting_a_router_is_204_and_it_shows_PENDING_DELETE()
    {
        var r = await api.P1.CreateRouterAsync();
        (await api.P1.DeleteAsync($"/v2.0/routers/{Id(r)}")).Expect(HttpStatusCode.NoContent);
        Assert.Equal("PENDING_DELETE", Str(await api.P1.ShowAsync("routers", Id(r), "router"), "status"));
        Assert.Equal(["create", "delete"], (await api.Db.OutboxForAsync(Id(r))).Select(e => e.Operation));
    }

    [Fact]
    public async Task Router_update_and_delete_honour_If_Match()
    {
        var r = await api.P1.CreateRouterAsync();
        (await api.P1.PutAsync($"/v2.0/routers/{Id(r)}", new JsonObject { ["router"] = new JsonObject { ["name"] = "a" } }, "revision_number=2"))
            .ExpectNeutronError(HttpStatusCode.PreconditionFailed);
        (await api.P1.DeleteAsync($"/v2.0/routers/{Id(r)}", "revision_number=2")).ExpectNeutronError(HttpStatusCode.PreconditionFailed);
        (await api.P1.DeleteAsync($"/v2.0/routers/{Id(r)}", "revision_number=1")).Expect(HttpStatusCode.NoContent);
    }

    [Fact]
    public async Task Adding_an_interface_by_subnet_creates_a_router_port_with_the_gateway_address()
    {
        var (n, s) = await api.P1.CreateNetworkWithSubnetAsync("10.0.0.0/24");
        var r = await api.P1.CreateRouterAsync();
        var before = await api.Db.MaxSeqAsync();

        var info = (await AddInterface(api.P1, Id(r), new JsonObject { ["subnet_id"] = Id(s) })).Expect(HttpStatusCode.OK).Json;

        Assert.Equal(Id(r), Str(info, "id"));
        Assert.Equal(Id(s), Str(info, "subnet_id"));
        Assert.Equal([Id(s)], Strings(info["subnet_ids"]));
        Assert.Equal(Id(n), Str(info, "network_id"));
        Assert.Equal(ApiFactory.Project1, Str(info, "project_id"));
        Assert.Equal(ApiFactory.Project1, Str(info, "tenant_id"));
        var portId = Str(info, "port_id");

        var port = await api.P1.ShowAsync("ports", portId, "port");
        Assert.Equal("network:router_interface", Str(port, "device_owner"));
        Assert.Equal(Id(r), Str(port, "device_id"));
        Assert.Equal(Id(n), Str(port, "network_id"));
        var ip = Assert.Single(Assert.IsType<JsonArray>(port["fixed_ips"]));
        Assert.Equal("10.0.0.1", Str(ip!, "ip_address"));
        Assert.Equal(Id(s), Str(ip!, "subnet_id"));

        var entries = await api.Db.OutboxAfterAsync(before);
        Assert.Single(entries);
        Assert.Equal(1, await api.Db.ScalarAsync<long>("select count(*) from router_interfaces where router_id = $1", Guid.Parse(Id(r))));
    }

    [Fact]
    public async Task Adding_an_interface_by_port_turns_the_port_into_a_router_interface()
    {
        var (n, s) = await api.P1.CreateNetworkWithSubnetAsync("10.1.0.0/24");
        var port = await api.P1.CreatePortAsync(Id(n));
        var r = await api.P1.CreateRouterAsync();

        var info = (await AddInterface(api.P1, Id(r), new JsonObject { ["port_id"] = Id(port) })).Expect(HttpStatusCode.OK).Json;

        Assert.Equal(Id(r), Str(info, "id"));
        Assert.Equal(Id(port), Str(info, "port_id"));
        Assert.Equal(Id(s), Str(info, "subnet_id"));
        Assert.Equal([Id(s)], Strings(info["subnet_ids"]));
        Assert.Equal(Id(n), Str(info, "network_id"));
        var shown = await api.P1.ShowAsync("ports", Id(port), "port");
        Assert.Equal("network:router_interface", Str(shown, "device_owner"));
        Assert.Equal(Id(r), Str(shown, "device_id"));
    }

    [Fact]
    public async Task Removing_an_interface_by_subnet_detaches_it_and_releases_the_router()
    {
        var (_, s) = await api.P1.CreateNetworkWithSubnetAsync("10.2.0.0/24");
        var r = await api.P1.CreateRouterAsync();
        var added = (await AddInterface(api.P1, Id(r), new JsonObject { ["subnet_id"] = Id(s) })).Expect(HttpStatusCode.OK).Json;

        var removed = (await RemoveInterface(api.P1, Id(r), new JsonObject { ["subnet_id"] = Id(s) })).Expect(HttpStatusCode.OK).Json;
        Assert.Equal(Id(r), Str(removed, "id"));
        Assert.Equal(Id(s), Str(removed, "subnet_id"));
        Assert.Equal(Str(added, "port_id"), Str(removed, "port_id"));

        await AssertInterfaceRemovalAcceptedAsync(Id(r), Str(added, "port_id"));
    }

    [Fact]
    public async Task Removing_an_interface_by_port_detaches_it()
    {
        var (n, s) = await api.P1.CreateNetworkWithSubnetAsync("10.3.0.0/24");
        var port = await api.P1.CreatePortAsync(Id(n));
        var r = await api.P1.CreateRouterAsync();
        (await AddInterface(api.P1, Id(r), new JsonObject { ["port_id"] = Id(port) })).Expect(HttpStatusCode.OK);

        var removed = (await RemoveInterface(api.P1, Id(r), new JsonObject { ["port_id"] = Id(port) })).Expect(HttpStatusCode.OK).Json;
        Assert.Equal(Id(port), Str(removed, "port_id"));
        Assert.Equal(Id(s), Str(removed, "subnet_id"));
        await AssertInterfaceRemovalAcceptedAsync(Id(r), Id(port));
    }

    [Fact]
    public async Task Deleting_a_router_with_interfaces_is_409_RouterInUse()
    {
        var (_, s) = await api.P1.CreateNetworkWithSubnetAsync("10.4.0.0/24");
        var r = await api.P1.CreateRouterAsync();
        (await AddInterface(api.P1, Id(r), new JsonObject { ["subnet_id"] = Id(s) })).Expect(HttpStatusCode.OK);
        var before = await api.Db.FingerprintAsync();
        (await api.P1.DeleteAsync($"/v2.0/routers/{Id(r)}")).ExpectNeutronError(HttpStatusCode.Conflict, "RouterInUse");
        Assert.Equal(before, await api.Db.FingerprintAsync());
    }

    [Fact]
    public async Task Attaching_the_same_subnet_twice_is_rejected_and_changes_nothing()
    {
        var (_, s) = await api.P1.CreateNetworkWithSubnetAsync("10.5.0.0/24");
        var r = await api.P1.CreateRouterAsync();
        (await AddInterface(api.P1, Id(r), new JsonObject { ["subnet_id"] = Id(s) })).Expect(HttpStatusCode.OK);
        var before = await api.Db.FingerprintAsync();
        var again = await AddInterface(api.P1, Id(r), new JsonObject { ["subnet_id"] = Id(s) });
        Assert.True((int)again.Status is 400 or 409, $"expected 400 or 409, got {again.Status}: {again.Text}");
        again.ExpectNeutronError(again.Status);
        Assert.Equal(before, await api.Db.FingerprintAsync());
    }

    [Fact]
    public async Task Interface_errors_are_404_for_unknown_subnets_and_ports_and_400_for_an_empty_body()
    {
        var r = await api.P1.CreateRouterAsync();
        var before = await api.Db.FingerprintAsync();
        (await AddInterface(api.P1, Id(r), new JsonObject { ["subnet_id"] = Guid.NewGuid().ToString() })).ExpectNeutronError(HttpStatusCode.NotFound);
        (await AddInterface(api.P1, Id(r), new JsonObject { ["port_id"] = Guid.NewGuid().ToString() })).ExpectNeutronError(HttpStatusCode.NotFound);
        (await AddInterface(api.P1, Guid.NewGuid().ToString(), new JsonObject { ["subnet_id"] = Guid.NewGuid().ToString() }))
            .ExpectNeutronError(HttpStatusCode.NotFound);
        (await AddInterface(api.P1, Id(r), new JsonObject())).ExpectNeutronError(HttpStatusCode.BadRequest);
        (await RemoveInterface(api.P1, Id(r), new JsonObject { ["subnet_id"] = Guid.NewGuid().ToString() })).ExpectNeutronError(HttpStatusCode.NotFound);
        Assert.Equal(before, await api.Db.FingerprintAsync());
    }

    [Fact]
    public async Task Removing_a_subnet_that_is_not_attached_is_404()
    {
        var (_, s) = await api.P1.CreateNetworkWithSubnetAsync("10.6.0.0/24");
        var r = await api.P1.CreateRouterAsync();
        var before = await api.Db.FingerprintAsync();
        (await RemoveInterface(api.P1, Id(r), new JsonObject { ["subnet_id"] = Id(s) })).ExpectNeutronError(HttpStatusCode.NotFound);
        Assert.Equal(before, await api.Db.FingerprintAsync());
    }

    [Fact]
    public async Task Attaching_another_projects_subnet_is_404()
    {
        var (_, foreign) = await api.P2.CreateNetworkWithSubnetAsync("10.7.0.0/24");
        var r = await api.P1.CreateRouterAsync();
        var before = await api.Db.FingerprintAsync();
        (await AddInterface(api.P1, Id(r), new JsonObject { ["subnet_id"] = Id(foreign) })).ExpectNeutronError(HttpStatusCode.NotFound);
        Assert.Equal(before, await api.Db.FingerprintAsync());
    }

    [Fact]
    public async Task A_subnet_with_a_router_interface_cannot_be_deleted()
    {
        var (_, s) = await api.P1.CreateNetworkWithSubnetAsync("10.8.0.0/24");
        var r = await api.P1.CreateRouterAsync();
        (await AddInterface(api.P1, Id(r), new JsonObject { ["subnet_id"] = Id(s) })).Expect(HttpStatusCode.OK);
        (await api.P1.DeleteAsync($"/v2.0/subnets/{Id(s)}")).ExpectNeutronError(HttpStatusCode.Conflict);
    }

    [Fact]
    public async Task Attaching_two_subnets_with_overlapping_cidrs_to_one_router_is_400()
    {
        var (_, s1) = await api.P1.CreateNetworkWithSubnetAsync("10.70.0.0/24");
        var (_, s2) = await api.P1.CreateNetworkWithSubnetAsync("10.70.0.0/24");
        var r = await api.P1.CreateRouterAsync();
        (await AddInterface(api.P1, Id(r), new JsonObject { ["subnet_id"] = Id(s1) })).Expect(HttpStatusCode.OK);
        var before = await api.Db.FingerprintAsync();
        (await AddInterface(api.P1, Id(r), new JsonObject { ["subnet_id"] = Id(s2) })).ExpectNeutronError(HttpStatusCode.BadRequest);
        Assert.Equal(before, await api.Db.FingerprintAsync());
    }

    [Fact]
    public async Task An_external_gateway_on_a_network_that_is_not_external_is_400()
    {
        var internalNet = await api.P1.CreateNetworkAsync();
        var before = await api.Db.FingerprintAsync();
        (await api.P1.PostAsync("/v2.0/routers", new JsonObject
        {
            ["router"] = new JsonObject { ["name"] = "r", ["external_gateway_info"] = new JsonObject { ["network_id"] = Id(internalNet) } },
        })).ExpectNeutronError(HttpStatusCode.BadRequest);
        Assert.Equal(before, await api.Db.FingerprintAsync());
    }

    [Fact]
    public async Task Attaching_a_port_of_another_projects_network_is_404()
    {
        var (foreignNet, _) = await api.P2.CreateNetworkWithSubnetAsync("10.71.0.0/24");
        var foreignPort = await api.P2.CreatePortAsync(Id(foreignNet));
        var r = await api.P1.CreateRouterAsync();
        var before = await api.Db.FingerprintAsync();
        (await AddInterface(api.P1, Id(r), new JsonObject { ["port_id"] = Id(foreignPort) })).ExpectNeutronError(HttpStatusCode.NotFound);
        Assert.Equal(before, await api.Db.FingerprintAsync());
    }

    [Fact]
    public async Task Attaching_a_port_that_already_has_a_device_is_409()
    {
        var (n, _) = await api.P1.CreateNetworkWithSubnetAsync("10.72.0.0/24");
        var port = await api.P1.CreatePortAsync(Id(n), new JsonObject { ["device_id"] = "vm-1", ["device_owner"] = "compute:nova" });
        var r = await api.P1.CreateRouterAsync();
        var before = await api.Db.FingerprintAsync();
        (await AddInterface(api.P1, Id(r), new JsonObject { ["port_id"] = Id(port) })).ExpectNeutronError(HttpStatusCode.Conflict);
        Assert.Equal(before, await api.Db.FingerprintAsync());
    }

    // ---------------------------------------------------------------- external_gateway_info {} and null

    private async Task<(JsonObject Network, JsonObject Subnet)> CreateExternalNetworkAsync(string cidr)
    {
        var external = await api.Admin.CreateNetworkAsync(extra: new JsonObject { ["router:external"] = true, ["shared"] = true });
        return (external, await api.Admin.CreateSubnetAsync(Id(external), cidr));
    }

    [Theory]
    [InlineData("{}")]
    [InlineData("null")]
    public async Task An_empty_or_null_external_gateway_info_on_create_means_no_gateway(string gateway)
    {
        var r = (await api.P1.PostAsync("/v2.0/routers", $"{{\"router\": {{\"name\": \"r\", \"external_gateway_info\": {gateway}}}}}"))
            .Expect(HttpStatusCode.Created).Item("router");
        Assert.True(r.ContainsKey("external_gateway_info"));
        Assert.Null(r["external_gateway_info"]);
        Assert.Null((await api.P1.ShowAsync("routers", Id(r), "router"))["external_gateway_info"]);
    }

    [Theory]
    [InlineData("{}")]
    [InlineData("null")]
    public async Task Updating_a_router_with_an_empty_or_null_external_gateway_info_removes_its_gateway(string gateway)
    {
        var (external, _) = await CreateExternalNetworkAsync("203.0.114.0/24");
        var r = await api.P1.CreateRouterAsync(extra: new JsonObject
        {
            ["external_gateway_info"] = new JsonObject { ["network_id"] = Id(external) },
        });

        var updated = (await api.P1.PutAsync($"/v2.0/routers/{Id(r)}", $"{{\"router\": {{\"external_gateway_info\": {gateway}}}}}"))
            .Expect(HttpStatusCode.OK).Item("router");

        Assert.Null(updated["external_gateway_info"]);
        Assert.Null((await api.P1.ShowAsync("routers", Id(r), "router"))["external_gateway_info"]);
        var entry = Assert.Single(await api.Db.OutboxForAsync(Id(r)), e => e.Operation == "update");
        Assert.Null(entry.Payload["external_gateway_info"]);
        // The back end keeps the old gateway until this update is applied, so the network's delete waits for it.
        var dependsOn = await api.Db.ScalarAsync<string>(
            "select array_to_string(depends_on, ',') from outbox_entries where resource_id = $1 and operation = 'update'", Guid.Parse(Id(r)));
        Assert.Equal([Id(external)], dependsOn.Split(','));
    }

    [Fact]
    public async Task Deleting_an_external_network_a_router_uses_as_its_gateway_is_409_until_the_gateway_is_removed()
    {
        var (external, _) = await CreateExternalNetworkAsync("203.0.116.0/24");
        var r = await api.P1.CreateRouterAsync(extra: new JsonObject
        {
            ["external_gateway_info"] = new JsonObject { ["network_id"] = Id(external) },
        });

        (await api.Admin.DeleteAsync($"/v2.0/networks/{Id(external)}")).ExpectNeutronError(HttpStatusCode.Conflict, "NetworkInUse");
        Assert.Equal("PENDING_CREATE", Str(await api.Admin.ShowAsync("networks", Id(external), "network"), "status"));

        (await api.P1.PutAsync($"/v2.0/routers/{Id(r)}", "{\"router\": {\"external_gateway_info\": {}}}")).Expect(HttpStatusCode.OK);
        (await api.Admin.DeleteAsync($"/v2.0/networks/{Id(external)}")).Expect(HttpStatusCode.NoContent);
    }

    [Fact]
    public async Task External_fixed_ips_are_checked_like_fixed_ips_and_must_name_a_subnet_of_the_gateway_network()
    {
        var (external, externalSubnet) = await CreateExternalNetworkAsync("203.0.115.0/24");
        var (_, otherSubnet) = await api.P1.CreateNetworkWithSubnetAsync("10.73.0.0/24");
        JsonObject Gateway(JsonNode fixedIp) => new()
        {
            ["router"] = new JsonObject
            {
                ["external_gateway_info"] = new JsonObject { ["network_id"] = Id(external), ["external_fixed_ips"] = new JsonArray(fixedIp) },
            },
        };
        var before = await api.Db.FingerprintAsync();
        (await api.P1.PostAsync("/v2.0/routers", Gateway(new JsonObject { ["subnet_id"] = Id(otherSubnet) })))
            .ExpectNeutronError(HttpStatusCode.BadRequest);
        (await api.P1.PostAsync("/v2.0/routers", Gateway(new JsonObject { ["ip_address"] = "not-an-ip" })))
            .ExpectNeutronError(HttpStatusCode.BadRequest);
        (await api.P1.PostAsync("/v2.0/routers", Gateway(new JsonObject { ["colour"] = "red" })))
            .ExpectNeutronError(HttpStatusCode.BadRequest);
        Assert.Equal(before, await api.Db.FingerprintAsync());

        var r = (await api.P1.PostAsync("/v2.0/routers", Gateway(new JsonObject { ["subnet_id"] = Id(externalSubnet), ["ip_address"] = "203.0.115.9" })))
            .Expect(HttpStatusCode.Created).Item("router");
        var ip = Assert.Single(Assert.IsType<JsonArray>(r["external_gateway_info"]!["external_fixed_ips"]));
        Assert.Equal(Id(externalSubnet), Str(ip!, "subnet_id"));
        Assert.Equal("203.0.115.9", Str(ip!, "ip_address"));
    }

    // ---------------------------------------------------------------- extraroute

    private static JsonObject Routes(params (string Destination, string Nexthop)[] routes) => new()
    {
        ["router"] = new JsonObject
        {
            ["routes"] = new JsonArray(routes.Select(r => (JsonNode)new JsonObject { ["destination"] = r.Destination, ["nexthop"] = r.Nexthop }).ToArray()),
        },
    };

    /// <summary>A router with an interface on a fresh subnet of <paramref name="cidr"/> (gateway .1 is the router's).</summary>
    private async Task<(JsonObject Router, JsonObject Subnet)> RouterWithInterfaceAsync(string cidr)
    {
        var (_, s) = await api.P1.CreateNetworkWithSubnetAsync(cidr);
        var r = await api.P1.CreateRouterAsync();
        (await AddInterface(api.P1, Id(r), new JsonObject { ["subnet_id"] = Id(s) })).Expect(HttpStatusCode.OK);
        return (r, s);
    }

    [Fact]
    public async Task Routes_on_router_create_are_400_as_extraroute_sets_them_by_update_only()
    {
        var before = await api.Db.FingerprintAsync();
        var error = (await api.P1.PostAsync("/v2.0/routers", new JsonObject { ["router"] = new JsonObject { ["routes"] = new JsonArray() } }))
            .ExpectNeutronError(HttpStatusCode.BadRequest);
        Assert.Contains("'routes' not allowed in POST", error["message"]!.GetValue<string>());
        Assert.Equal(before, await api.Db.FingerprintAsync());
    }

    [Fact]
    public async Task A_route_whose_nexthop_is_in_a_subnet_attached_to_the_router_is_accepted_and_sent_to_the_back_end()
    {
        var (r, _) = await RouterWithInterfaceAsync("10.80.0.0/24");
        var updated = (await api.P1.PutAsync($"/v2.0/routers/{Id(r)}", Routes(("172.16.0.0/16", "10.80.0.5"))))
            .Expect(HttpStatusCode.OK).Item("router");
        var route = Assert.Single(Assert.IsType<JsonArray>(updated["routes"]));
        Assert.Equal("172.16.0.0/16", Str(route!, "destination"));
        Assert.Equal("10.80.0.5", Str(route!, "nexthop"));
        var entry = (await api.Db.OutboxForAsync(Id(r))).Last(e => e.Operation == "update");
        Assert.True(JsonNode.DeepEquals(updated["routes"], entry.Payload["routes"]));
    }

    [Fact]
    public async Task A_route_whose_nexthop_is_not_connected_to_the_router_is_400_InvalidRoutes()
    {
        var (r, _) = await RouterWithInterfaceAsync("10.81.0.0/24");
        await api.P1.CreateNetworkWithSubnetAsync("10.82.0.0/24"); // a subnet that exists, but not on the router
        var bare = await api.P1.CreateRouterAsync();
        var before = await api.Db.FingerprintAsync();
        (await api.P1.PutAsync($"/v2.0/routers/{Id(r)}", Routes(("172.16.0.0/16", "10.82.0.5")))).ExpectNeutronError(HttpStatusCode.BadRequest, "InvalidRoutes");
        (await api.P1.PutAsync($"/v2.0/routers/{Id(bare)}", Routes(("172.16.0.0/16", "10.81.0.5")))).ExpectNeutronError(HttpStatusCode.BadRequest, "InvalidRoutes");
        Assert.Equal(before, await api.Db.FingerprintAsync());
    }

    [Fact]
    public async Task A_route_whose_nexthop_is_the_routers_own_interface_address_is_400_InvalidRoutes()
    {
        var (r, _) = await RouterWithInterfaceAsync("10.83.0.0/24");
        var before = await api.Db.FingerprintAsync();
        var error = (await api.P1.PutAsync($"/v2.0/routers/{Id(r)}", Routes(("172.16.0.0/16", "10.83.0.1"))))
            .ExpectNeutronError(HttpStatusCode.BadRequest, "InvalidRoutes");
        Assert.Contains("the nexthop is used by router", error["message"]!.GetValue<string>());
        Assert.Equal(before, await api.Db.FingerprintAsync());
    }

    [Theory]
    [InlineData("[{\"destination\": \"bad\", \"nexthop\": \"10.84.0.5\"}]", "destination not a CIDR")]
    [InlineData("[{\"destination\": \"172.16.0.0/16\", \"nexthop\": \"bad\"}]", "nexthop not an IP")]
    [InlineData("[{\"destination\": \"172.16.0.0/16\"}]", "no nexthop")]
    [InlineData("[{\"nexthop\": \"10.84.0.5\"}]", "no destination")]
    [InlineData("[{\"destination\": \"172.16.0.0/16\", \"nexthop\": \"10.84.0.5\", \"metric\": 1}]", "an extra key")]
    [InlineData("[{\"destination\": \"172.16.0.0/16\", \"nexthop\": \"10.84.0.5\"}, {\"destination\": \"172.16.0.0/16\", \"nexthop\": \"10.84.0.5\"}]", "a duplicate")]
    [InlineData("\"172.16.0.0/16\"", "not a list")]
    [InlineData("[1]", "an item not an object")]
    public async Task A_malformed_route_is_400_and_changes_nothing(string routes, string why)
    {
        var (r, _) = await RouterWithInterfaceAsync("10.84.0.0/24");
        var before = await api.Db.FingerprintAsync();
        var response = await api.P1.PutAsync($"/v2.0/routers/{Id(r)}", $"{{\"router\": {{\"routes\": {routes}}}}}");
        Assert.True(response.Status == HttpStatusCode.BadRequest, $"{why}: {(int)response.Status} {response.Text}");
        response.ExpectNeutronError(HttpStatusCode.BadRequest);
        Assert.Equal(before, await api.Db.FingerprintAsync());
    }

    [Theory]
    [InlineData("[]")]
    [InlineData("null")]
    public async Task An_empty_or_null_routes_update_clears_the_routes(string routes)
    {
        var (r, _) = await RouterWithInterfaceAsync("10.85.0.0/24");
        (await api.P1.PutAsync($"/v2.0/routers/{Id(r)}", Routes(("172.16.0.0/16", "10.85.0.5")))).Expect(HttpStatusCode.OK);
        var cleared = (await api.P1.PutAsync($"/v2.0/routers/{Id(r)}", $"{{\"router\": {{\"routes\": {routes}}}}}"))
            .Expect(HttpStatusCode.OK).Item("router");
        Assert.Empty(Assert.IsType<JsonArray>(cleared["routes"]));
    }

    [Fact]
    public async Task Removing_an_interface_a_route_needs_is_409_RouterInterfaceInUseByRoute_until_the_route_is_gone()
    {
        var (r, s) = await RouterWithInterfaceAsync("10.86.0.0/24");
        (await api.P1.PutAsync($"/v2.0/routers/{Id(r)}", Routes(("172.16.0.0/16", "10.86.0.5")))).Expect(HttpStatusCode.OK);
        var before = await api.Db.FingerprintAsync();
        (await RemoveInterface(api.P1, Id(r), new JsonObject { ["subnet_id"] = Id(s) }))
            .ExpectNeutronError(HttpStatusCode.Conflict, "RouterInterfaceInUseByRoute");
        Assert.Equal(before, await api.Db.FingerprintAsync());

        (await api.P1.PutAsync($"/v2.0/routers/{Id(r)}", Routes())).Expect(HttpStatusCode.OK);
        (await RemoveInterface(api.P1, Id(r), new JsonObject { ["subnet_id"] = Id(s) })).Expect(HttpStatusCode.OK);
    }

    [Fact]
    public async Task A_route_via_an_interface_whose_removal_is_accepted_is_400_InvalidRoutes()
    {
        var (r, s) = await RouterWithInterfaceAsync("10.87.0.0/24");
        (await RemoveInterface(api.P1, Id(r), new JsonObject { ["subnet_id"] = Id(s) })).Expect(HttpStatusCode.OK);
        (await api.P1.PutAsync($"/v2.0/routers/{Id(r)}", Routes(("172.16.0.0/16", "10.87.0.5")))).ExpectNeutronError(HttpStatusCode.BadRequest, "InvalidRoutes");
    }
}
