using static OutboxSync.Api.Tests.Infrastructure.Neutron;

namespace OutboxSync.Api.Tests.Endpoints;

/// <summary>Neutron's <c>binding</c> extension: Nova's host binding, with Neutron's admin-only policy.</summary>
public sealed class PortBindingTests(ApiFactory api) : IClassFixture<ApiFactory>
{
    private static readonly string[] AdminOnly = ["binding:host_id", "binding:profile", "binding:vif_type", "binding:vif_details"];

    private async Task<JsonObject> OwnPortAsync(JsonObject? extra = null)
    {
        var (n, _) = await api.P1.CreateNetworkWithSubnetAsync("10.70.0.0/24");
        return await api.P1.CreatePortAsync(Id(n), extra);
    }

    private static JsonObject Port(JsonObject attributes) => new() { ["port"] = attributes };

    [Fact]
    public async Task A_new_port_is_unbound_and_its_owner_sees_only_the_vnic_type()
    {
        var p = await OwnPortAsync();

        Assert.Equal("normal", Str(p, "binding:vnic_type"));
        Assert.All(AdminOnly, key => Assert.False(p.ContainsKey(key), $"{key} shown to the owner"));
        var admin = await api.Admin.ShowAsync("ports", Id(p), "port");
        Assert.Equal("", Str(admin, "binding:host_id"));
        Assert.Equal("unbound", Str(admin, "binding:vif_type"));
        Assert.Empty(Assert.IsType<JsonObject>(admin["binding:vif_details"]));
        Assert.Empty(Assert.IsType<JsonObject>(admin["binding:profile"]));

        // The back end gets the stored binding, never the derived attributes.
        var entry = Assert.Single(await api.Db.OutboxForAsync(Id(p)));
        Assert.Equal("", Str(entry.Payload, "binding:host_id"));
        Assert.Equal("normal", Str(entry.Payload, "binding:vnic_type"));
        Assert.Empty(Assert.IsType<JsonObject>(entry.Payload["binding:profile"]));
        Assert.False(entry.Payload.ContainsKey("binding:vif_type"));
    }

    [Fact]
    public async Task Binding_a_port_to_a_host_is_an_update_the_back_end_gets_and_nova_sees_bound_at_once()
    {
        var p = await OwnPortAsync();
        await api.Db.MarkActiveAsync("ports", Guid.Parse(Id(p)));
        var bound = (await api.Admin.PutAsync($"/v2.0/ports/{Id(p)}", Port(new JsonObject
        {
            ["binding:host_id"] = "compute-1",
            ["binding:profile"] = new JsonObject { ["pci_slot"] = "0000:05:00.1" },
            ["device_id"] = Guid.NewGuid().ToString(),
            ["device_owner"] = "compute:nova",
        }))).Expect(HttpStatusCode.OK).Item("port");

        Assert.Equal("compute-1", Str(bound, "binding:host_id"));
        Assert.Equal("ovs", Str(bound, "binding:vif_type"));
        Assert.True(JsonNode.DeepEquals(new JsonObject { ["connectivity"] = "l2", ["port_filter"] = true }, bound["binding:vif_details"]));
        Assert.Equal("0000:05:00.1", Str(bound["binding:profile"]!, "pci_slot"));
        Assert.Equal("PENDING_UPDATE", Str(bound, "status"));
        Assert.Equal(2, Revision(bound));
        var update = (await api.Db.OutboxForAsync(Id(p))).Single(e => e.Revision == 2);
        Assert.Equal("update", update.Operation);
        Assert.Equal("compute-1", Str(update.Payload, "binding:host_id"));
        Assert.Equal("0000:05:00.1", Str(update.Payload["binding:profile"]!, "pci_slot"));

        var owner = await api.P1.ShowAsync("ports", Id(p), "port");
        Assert.All(AdminOnly, key => Assert.False(owner.ContainsKey(key), $"{key} shown to the owner"));

        // Nova unbinds with null.
        var unbound = (await api.Admin.PutAsync($"/v2.0/ports/{Id(p)}", Port(new JsonObject
        {
            ["binding:host_id"] = null,
            ["binding:profile"] = null,
        }))).Expect(HttpStatusCode.OK).Item("port");
        Assert.Equal("", Str(unbound, "binding:host_id"));
        Assert.Equal("unbound", Str(unbound, "binding:vif_type"));
        Assert.Empty(Assert.IsType<JsonObject>(unbound["binding:profile"]));
        var last = (await api.Db.OutboxForAsync(Id(p))).Single(e => e.Revision == 3);
        Assert.Equal("", Str(last.Payload, "binding:host_id"));
    }

    [Fact]
    public async Task An_admin_may_create_a_port_already_bound()
    {
        var (n, _) = await api.P1.CreateNetworkWithSubnetAsync("10.71.0.0/24");
        var created = (await api.Admin.PostAsync("/v2.0/ports", Port(new JsonObject
        {
            ["network_id"] = Id(n),
            ["project_id"] = ApiFactory.Project1,
            ["binding:host_id"] = "compute-2",
            ["binding:vnic_type"] = "direct",
        }))).Expect(HttpStatusCode.Created).Item("port");

        Assert.Equal("compute-2", Str(created, "binding:host_id"));
        Assert.Equal("ovs", Str(created, "binding:vif_type"));
        Assert.Equal("direct", Str(created, "binding:vnic_type"));
        Assert.Equal("compute-2", Str(Assert.Single(await api.Db.OutboxForAsync(Id(created))).Payload, "binding:host_id"));
        Assert.True(JsonNode.DeepEquals(created, await api.Admin.ShowAsync("ports", Id(created), "port")));
    }

    [Fact]
    public async Task Only_admin_may_set_the_host_or_the_profile_and_a_refusal_writes_nothing()
    {
        var (n, _) = await api.P1.CreateNetworkWithSubnetAsync("10.72.0.0/24");
        var before = await api.Db.MaxSeqAsync();
        (await api.P1.PostAsync("/v2.0/ports", Port(new JsonObject { ["network_id"] = Id(n), ["binding:host_id"] = "compute-1" })))
            .ExpectNeutronError(HttpStatusCode.Forbidden, "PolicyNotAuthorized");
        var p = await api.P1.CreatePortAsync(Id(n));
        (await api.P1.PutAsync($"/v2.0/ports/{Id(p)}", Port(new JsonObject { ["binding:profile"] = new JsonObject() })))
            .ExpectNeutronError(HttpStatusCode.Forbidden, "PolicyNotAuthorized");
        (await api.P1.PutAsync($"/v2.0/ports/{Id(p)}", Port(new JsonObject { ["binding:host_id"] = null })))
            .ExpectNeutronError(HttpStatusCode.Forbidden, "PolicyNotAuthorized");

        var entries = await api.Db.OutboxAfterAsync(before);
        Assert.Equal([Id(p)], entries.Select(e => e.ResourceId.ToString()));
        Assert.Equal(1, Revision(await api.P1.ShowAsync("ports", Id(p), "port")));
    }

    [Fact]
    public async Task The_owner_may_choose_a_vnic_type_from_neutrons_list_and_nothing_else()
    {
        var p = await OwnPortAsync(new JsonObject { ["binding:vnic_type"] = "direct" });
        Assert.Equal("direct", Str(p, "binding:vnic_type"));
        var changed = (await api.P1.PutAsync($"/v2.0/ports/{Id(p)}", Port(new JsonObject { ["binding:vnic_type"] = "macvtap" })))
            .Expect(HttpStatusCode.OK).Item("port");
        Assert.Equal("macvtap", Str(changed, "binding:vnic_type"));
        Assert.Equal("macvtap", Str((await api.Db.OutboxForAsync(Id(p))).Single(e => e.Revision == 2).Payload, "binding:vnic_type"));

        foreach (var bad in new JsonNode?[] { "bogus", "", 7, null, "NORMAL" })
        {
            var error = (await api.P1.PutAsync($"/v2.0/ports/{Id(p)}", Port(new JsonObject { ["binding:vnic_type"] = bad?.DeepClone() })))
                .ExpectNeutronError(HttpStatusCode.BadRequest);
            Assert.Contains("binding:vnic_type", error["message"]!.GetValue<string>(), StringComparison.Ordinal);
        }
    }

    [Theory]
    [InlineData("binding:vif_type")]
    [InlineData("binding:vif_details")]
    public async Task The_derived_attributes_cannot_be_written(string attribute)
    {
        var p = await OwnPortAsync();
        (await api.Admin.PutAsync($"/v2.0/ports/{Id(p)}", Port(new JsonObject { [attribute] = "ovs" })))
            .ExpectNeutronError(HttpStatusCode.BadRequest);
        (await api.Admin.PostAsync("/v2.0/ports", Port(new JsonObject { ["network_id"] = Str(p, "network_id"), [attribute] = "ovs" })))
            .ExpectNeutronError(HttpStatusCode.BadRequest);
    }

    [Fact]
    public async Task A_profile_must_be_a_storable_dictionary()
    {
        var p = await OwnPortAsync();
        var bad = new JsonNode?[]
        {
            "a string",
            new JsonArray(1, 2),
            new JsonObject { ["key"] = "nul\0inside" },
            new JsonObject { ["nested"] = new JsonObject { ["nul\0key"] = 1 } },
            new JsonObject { ["big"] = new string('x', 5000) },
        };
        foreach (var profile in bad)
        {
            (await api.Admin.PutAsync($"/v2.0/ports/{Id(p)}", Port(new JsonObject { ["binding:profile"] = profile })))
                .ExpectNeutronError(HttpStatusCode.BadRequest);
        }
        var nested = new JsonObject { ["capabilities"] = new JsonArray("switchdev"), ["trusted"] = true, ["n"] = 1.5 };
        var stored = (await api.Admin.PutAsync($"/v2.0/ports/{Id(p)}", Port(new JsonObject { ["binding:profile"] = nested.DeepClone() })))
            .Expect(HttpStatusCode.OK).Item("port");
        Assert.True(JsonNode.DeepEquals(nested, stored["binding:profile"]));
        Assert.True(JsonNode.DeepEquals(nested, (await api.Admin.ShowAsync("ports", Id(p), "port"))["binding:profile"]));
    }

    [Fact]
    public async Task A_bound_port_the_back_end_refused_reports_binding_failed()
    {
        var p = await OwnPortAsync();
        (await api.Admin.PutAsync($"/v2.0/ports/{Id(p)}", Port(new JsonObject { ["binding:host_id"] = "compute-3" }))).Expect(HttpStatusCode.OK);
        await api.Db.ExecuteAsync("update ports set status = 'ERROR', status_reason = 'refused' where id = $1", Guid.Parse(Id(p)));

        var failed = await api.Admin.ShowAsync("ports", Id(p), "port");
        Assert.Equal("binding_failed", Str(failed, "binding:vif_type"));
        Assert.Empty(Assert.IsType<JsonObject>(failed["binding:vif_details"]));
    }

    [Fact]
    public async Task Admin_lists_the_ports_bound_to_a_host_and_no_one_else_may_filter_by_host()
    {
        var host = Unique("compute");
        var (n, _) = await api.P1.CreateNetworkWithSubnetAsync("10.73.0.0/24");
        var bound = await api.P1.CreatePortAsync(Id(n));
        await api.P1.CreatePortAsync(Id(n));
        (await api.Admin.PutAsync($"/v2.0/ports/{Id(bound)}", Port(new JsonObject { ["binding:host_id"] = host }))).Expect(HttpStatusCode.OK);

        var listed = (await api.Admin.GetAsync($"/v2.0/ports?binding:host_id={host}")).Expect(HttpStatusCode.OK).Items("ports");
        var only = Assert.Single(listed);
        Assert.Equal(Id(bound), Id(only!));
        Assert.Equal("ovs", Str(only!, "binding:vif_type"));

        (await api.P1.GetAsync($"/v2.0/ports?binding:host_id={host}")).ExpectNeutronError(HttpStatusCode.Forbidden, "PolicyNotAuthorized");
        (await api.P1.GetAsync($"/v2.0/ports?sort_key=binding:host_id")).ExpectNeutronError(HttpStatusCode.Forbidden, "PolicyNotAuthorized");

        var owned = (await api.P1.GetAsync($"/v2.0/ports?network_id={Id(n)}&binding:vnic_type=normal")).Expect(HttpStatusCode.OK).Items("ports");
        Assert.Equal(2, owned.Count);
        Assert.All(owned, o => Assert.All(AdminOnly, key => Assert.False(o!.AsObject().ContainsKey(key), $"{key} listed to the owner")));

        var selected = (await api.P1.GetAsync($"/v2.0/ports/{Id(bound)}?fields=binding:host_id&fields=id")).Expect(HttpStatusCode.OK).Item("port");
        Assert.Equal(["id"], selected.Select(x => x.Key));
    }

    [Fact]
    public async Task A_bound_port_reports_the_configured_vif_type_and_details()
    {
        await using var factory = api.WithWebHostBuilder(b => b
            .UseSetting("Api:PortBinding:VifType", "vhostuser")
            .UseSetting("Api:PortBinding:VifDetails:vhostuser_mode", "server")
            .UseSetting("Api:PortBinding:VifDetails:port_filter", "false"));
        var admin = new ApiClient(factory.CreateClient(), ApiFactory.AdminToken);
        var p = await OwnPortAsync();

        var bound = (await admin.PutAsync($"/v2.0/ports/{Id(p)}", Port(new JsonObject { ["binding:host_id"] = "dpdk-1" })))
            .Expect(HttpStatusCode.OK).Item("port");
        Assert.Equal("vhostuser", Str(bound, "binding:vif_type"));
        Assert.True(JsonNode.DeepEquals(
            new JsonObject { ["connectivity"] = "l2", ["port_filter"] = false, ["vhostuser_mode"] = "server" }, bound["binding:vif_details"]));
    }

    [Theory]
    [InlineData("unbound")]
    [InlineData("")]
    [InlineData("Not A Type")]
    public async Task An_invalid_vif_type_stops_the_api_at_start_naming_the_setting(string vifType)
    {
        await using var factory = api.WithWebHostBuilder(b => b.UseSetting("Api:PortBinding:VifType", vifType));
        var error = Assert.ThrowsAny<Exception>(() => factory.CreateClient());
        Assert.Contains("Api:PortBinding:VifType", error.ToString(), StringComparison.Ordinal);
    }
}
