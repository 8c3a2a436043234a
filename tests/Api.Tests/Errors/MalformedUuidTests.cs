using static OutboxSync.Api.Tests.Infrastructure.Neutron;

namespace OutboxSync.Api.Tests.Errors;

/// <summary>
/// Every UUID a body names is the 8-4-4-4-12 form or a 400 HTTPBadRequest. Each malformed value below spells the id
/// of a resource that exists and is usable, so a lenient parse would have answered 201/200 (or 404 for one it
/// misread): the test proves the format alone is refused.
/// </summary>
public sealed class MalformedUuidTests(ApiFactory api) : IClassFixture<ApiFactory>
{
    public static readonly string[] Places =
    [
        "port create network_id", "subnet create network_id", "port create fixed_ips subnet_id", "port update fixed_ips subnet_id",
        "add_router_interface subnet_id", "add_router_interface port_id", "remove_router_interface subnet_id",
        "remove_router_interface port_id", "router create external_gateway_info network_id",
        "router update external_gateway_info network_id", "router create external_fixed_ips subnet_id",
    ];

    public static readonly string[] Spellings = ["braces", "parentheses", "hex structure", "no hyphens", "padded", "trailing garbage"];

    public static TheoryData<string, string> Cases()
    {
        var data = new TheoryData<string, string>();
        foreach (var place in Places)
        {
            foreach (var spelling in Spellings)
            {
                data.Add(place, spelling);
            }
        }
        return data;
    }

    private static string Spell(string id, string spelling)
    {
        var g = Guid.Parse(id);
        return spelling switch
        {
            "braces" => g.ToString("B"),
            "parentheses" => g.ToString("P"),
            "hex structure" => g.ToString("X"),
            "no hyphens" => g.ToString("N"),
            "padded" => $" {g} ",
            _ => $"{g}x",
        };
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task A_malformed_uuid_anywhere_in_a_body_is_400_HTTPBadRequest_and_changes_nothing(string place, string spelling)
    {
        var (network, subnet) = await api.P1.CreateNetworkWithSubnetAsync("10.90.0.0/24");
        var port = await api.P1.CreatePortAsync(Id(network));
        var router = await api.P1.CreateRouterAsync();
        var external = await api.Admin.CreateNetworkAsync(extra: new JsonObject { ["router:external"] = true, ["shared"] = true });
        var externalSubnet = await api.Admin.CreateSubnetAsync(Id(external), "203.0.120.0/24");
        var (_, attached) = await api.P1.CreateNetworkWithSubnetAsync("10.91.0.0/24");
        var iface = (await api.P1.PutAsync($"/v2.0/routers/{Id(router)}/add_router_interface", new JsonObject { ["subnet_id"] = Id(attached) }))
            .Expect(HttpStatusCode.OK).Json;

        var (method, path, body) = place switch
        {
            "port create network_id" => (HttpMethod.Post, "/v2.0/ports",
                new JsonObject { ["port"] = new JsonObject { ["network_id"] = Spell(Id(network), spelling) } }),
            "subnet create network_id" => (HttpMethod.Post, "/v2.0/subnets", new JsonObject
            {
                ["subnet"] = new JsonObject { ["network_id"] = Spell(Id(network), spelling), ["cidr"] = "10.92.0.0/24", ["ip_version"] = 4 },
            }),
            "port create fixed_ips subnet_id" => (HttpMethod.Post, "/v2.0/ports", new JsonObject
            {
                ["port"] = new JsonObject
                {
                    ["network_id"] = Id(network),
                    ["fixed_ips"] = new JsonArray(new JsonObject { ["subnet_id"] = Spell(Id(subnet), spelling) }),
                },
            }),
            "port update fixed_ips subnet_id" => (HttpMethod.Put, $"/v2.0/ports/{Id(port)}", new JsonObject
            {
                ["port"] = new JsonObject { ["fixed_ips"] = new JsonArray(new JsonObject { ["subnet_id"] = Spell(Id(subnet), spelling) }) },
            }),
            "add_router_interface subnet_id" => (HttpMethod.Put, $"/v2.0/routers/{Id(router)}/add_router_interface",
                new JsonObject { ["subnet_id"] = Spell(Id(subnet), spelling) }),
            "add_router_interface port_id" => (HttpMethod.Put, $"/v2.0/routers/{Id(router)}/add_router_interface",
                new JsonObject { ["port_id"] = Spell(Id(port), spelling) }),
            "remove_router_interface subnet_id" => (HttpMethod.Put, $"/v2.0/routers/{Id(router)}/remove_router_interface",
                new JsonObject { ["subnet_id"] = Spell(Id(attached), spelling) }),
            "remove_router_interface port_id" => (HttpMethod.Put, $"/v2.0/routers/{Id(router)}/remove_router_interface",
                new JsonObject { ["port_id"] = Spell(Str(iface, "port_id"), spelling) }),
            "router create external_gateway_info network_id" => (HttpMethod.Post, "/v2.0/routers", new JsonObject
            {
                ["router"] = new JsonObject { ["external_gateway_info"] = new JsonObject { ["network_id"] = Spell(Id(external), spelling) } },
            }),
            "router update external_gateway_info network_id" => (HttpMethod.Put, $"/v2.0/routers/{Id(router)}", new JsonObject
            {
                ["router"] = new JsonObject { ["external_gateway_info"] = new JsonObject { ["network_id"] = Spell(Id(external), spelling) } },
            }),
            _ => (HttpMethod.Post, "/v2.0/routers", new JsonObject
            {
                ["router"] = new JsonObject
                {
                    ["external_gateway_info"] = new JsonObject
                    {
                        ["network_id"] = Id(external),
                        ["external_fixed_ips"] = new JsonArray(new JsonObject { ["subnet_id"] = Spell(Id(externalSubnet), spelling) }),
                    },
                },
            }),
        };

        var before = await api.Db.FingerprintAsync();
        var response = await api.P1.SendAsync(method, path, body);
        Assert.True(response.Status == HttpStatusCode.BadRequest, $"{place}, {spelling}: expected 400 but got {(int)response.Status}: {response.Text}");
        var error = response.ExpectNeutronError(HttpStatusCode.BadRequest, "HTTPBadRequest");
        Assert.Contains("is not a valid UUID", error["message"]!.GetValue<string>());
        Assert.Equal(before, await api.Db.FingerprintAsync());
    }

    [Fact]
    public async Task An_upper_case_uuid_is_the_same_id()
    {
        var network = await api.P1.CreateNetworkAsync();
        var port = await api.P1.CreatePortAsync(Id(network).ToUpperInvariant());
        Assert.Equal(Id(network), Str(port, "network_id"));
    }
}
