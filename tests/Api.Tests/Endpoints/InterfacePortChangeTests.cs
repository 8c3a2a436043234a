using static OutboxSync.Api.Tests.Infrastructure.Neutron;

namespace OutboxSync.Api.Tests.Endpoints;

/// <summary>An interface port exists at the back end only as its router's interface, so its changes travel as that.</summary>
public sealed class InterfacePortChangeTests(ApiFactory api) : IClassFixture<ApiFactory>
{
    [Fact]
    public async Task Renaming_or_tagging_an_interface_port_is_sent_as_the_interface_at_the_new_revision()
    {
        var network = await api.P1.CreateNetworkAsync();
        var subnet = await api.P1.CreateSubnetAsync(Id(network), "10.91.0.0/24");
        var router = (await api.P1.PostAsync("/v2.0/routers", new JsonObject { ["router"] = new JsonObject { ["name"] = "r" } }))
            .Expect(HttpStatusCode.Created).Item("router");
        var added = (await api.P1.PutAsync($"/v2.0/routers/{Id(router)}/add_router_interface", new JsonObject { ["subnet_id"] = Id(subnet) }))
            .Expect(HttpStatusCode.OK).Body!;
        var portId = added["port_id"]!.GetValue<string>();

        (await api.P1.PutAsync($"/v2.0/ports/{portId}", new JsonObject { ["port"] = new JsonObject { ["name"] = "uplink" } }))
            .Expect(HttpStatusCode.OK);
        (await api.P1.PutAsync($"/v2.0/ports/{portId}/tags/edge")).Expect(HttpStatusCode.Created);

        var entries = await api.Db.OutboxForAsync(portId);
        Assert.Equal(["add_interface", "add_interface", "add_interface"], entries.Select(e => e.Operation));
        Assert.Equal([1L, 2L, 3L], entries.Select(e => e.Revision));
        var last = entries[^1].Payload;
        Assert.Equal(Id(router), last["router_id"]!.GetValue<string>());
        Assert.Equal(Id(subnet), last["subnet_id"]!.GetValue<string>());
        Assert.Equal("uplink", last["name"]!.GetValue<string>());
    }
}
