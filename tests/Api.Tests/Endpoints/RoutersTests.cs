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
}
