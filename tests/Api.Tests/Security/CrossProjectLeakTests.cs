using static OutboxSync.Api.Tests.Infrastructure.Neutron;

namespace OutboxSync.Api.Tests.Security;

/// <summary>
/// project1 probes project2's resources through every side channel a list or an error offers: filters on id,
/// name and parent ids, fields=, sort keys, pagination markers and links, tag filters, and the messages of
/// refused requests. No response may carry a project2 name, and no project2 id beyond the one the caller sent.
/// </summary>
public sealed class CrossProjectLeakTests(ApiFactory api) : IClassFixture<ApiFactory>, IAsyncLifetime
{
    private sealed record Secrets(JsonObject Network, JsonObject Subnet, JsonObject Port, JsonObject Router, string Tag)
    {
        public IEnumerable<string> Ids => [Id(Network), Id(Subnet), Id(Port), Id(Router), Str(Port, "mac_address")];

        public IEnumerable<string> Names => [Str(Network, "name"), Str(Subnet, "name"), Str(Port, "name"), Str(Router, "name"), Tag];

        public string IdOf(string collection) => collection switch
        {
            "networks" => Neutron.Id(Network),
            "subnets" => Neutron.Id(Subnet),
            "ports" => Neutron.Id(Port),
            _ => Neutron.Id(Router),
        };
    }

    private Secrets _p2 = null!;

    public async Task InitializeAsync()
    {
        var tag = Unique("p2secret-tag");
        var network = await api.P2.CreateNetworkAsync(Unique("p2secret-net"));
        var subnet = await api.P2.CreateSubnetAsync(Id(network), "10.200.0.0/24", new JsonObject { ["name"] = Unique("p2secret-subnet") });
        var port = await api.P2.CreatePortAsync(Id(network), new JsonObject { ["name"] = Unique("p2secret-port"), ["device_id"] = Unique("p2secret-device") });
        var router = await api.P2.CreateRouterAsync(Unique("p2secret-router"));
        foreach (var (collection, id) in new[] { ("networks", Id(network)), ("subnets", Id(subnet)), ("ports", Id(port)), ("routers", Id(router)) })
        {
            (await api.P2.PutAsync($"/v2.0/{collection}/{id}/tags/{tag}")).Expect(HttpStatusCode.Created);
        }
        // project1 has look-alikes (same CIDR, same kind of names) so that filters have something of its own to match.
        var (ownNetwork, _) = await api.P1.CreateNetworkWithSubnetAsync("10.200.0.0/24");
        await api.P1.CreatePortAsync(Id(ownNetwork));
        await api.P1.CreateRouterAsync();
        _p2 = new Secrets(network, subnet, port, router, tag);
    }

    public Task DisposeAsync() => Task.CompletedTask;

    /// <summary>No project2 name anywhere; no project2 id (or MAC) unless the request itself carried it.</summary>
    private void AssertNoLeak(ApiResponse response, string sent)
    {
        foreach (var name in _p2.Names)
        {
            Assert.False(response.Text.Contains(name, StringComparison.Ordinal), $"{response.Request} (sent {sent}) leaks the name '{name}': {response.Text}");
        }
        foreach (var id in _p2.Ids)
        {
            if (!sent.Contains(id, StringComparison.OrdinalIgnoreCase))
            {
                Assert.False(response.Text.Contains(id, StringComparison.OrdinalIgnoreCase), $"{response.Request} leaks the id '{id}': {response.Text}");
            }
        }
        Assert.True((int)response.Status < 500, $"{response.Request}: {(int)response.Status} {response.Text}");
    }

    private IEnumerable<string> ListQueries(string collection)
    {
        var net = Id(_p2.Network);
        var subnet = Id(_p2.Subnet);
        var own = _p2.IdOf(collection);
        var name = Str(collection switch { "networks" => _p2.Network, "subnets" => _p2.Subnet, "ports" => _p2.Port, _ => _p2.Router }, "name");
        yield return $"id={own}";
        yield return $"id={own.ToUpperInvariant()}";
        yield return $"name={name}";
        yield return $"name={name}&fields=id&fields=name&fields=project_id";
        yield return "project_id=project2";
        yield return "tenant_id=project2";
        yield return "project_id=project2&fields=id";
        yield return $"tags={_p2.Tag}";
        yield return $"tags-any={_p2.Tag},x";
        yield return $"not-tags={_p2.Tag}";
        yield return $"not-tags-any={_p2.Tag}";
        yield return "fields=id&fields=name&fields=tenant_id&fields=project_id";
        yield return "fields=*";
        yield return "fields=project_id,tenant_id,shared";
        yield return "sort_key=name&sort_dir=asc&limit=1";
        yield return "sort_key=name&sort_dir=desc&limit=1";
        yield return "sort_key=id&sort_dir=desc";
        yield return "sort_key=project_id&sort_key=id&sort_dir=desc&sort_dir=asc";
        yield return $"limit=1&marker={own}";
        yield return $"limit=1&marker={own}&page_reverse=true";
        yield return $"limit=1&marker={own}&sort_key=name&sort_dir=desc";
        yield return "changed_since=2000-01-01T00:00:00Z";
        yield return "limit=1";
        yield return "limit=1&page_reverse=true";
        if (collection is "subnets" or "ports")
        {
            yield return $"network_id={net}";
            yield return $"network_id={net}&fields=id";
        }
        if (collection == "subnets")
        {
            yield return "cidr=10.200.0.0/24";
        }
        if (collection == "ports")
        {
            var ip = _p2.Port["fixed_ips"]![0]!["ip_address"]!.GetValue<string>();
            yield return $"fixed_ips=ip_address%3D{ip}";
            yield return $"fixed_ips=subnet_id%3D{subnet}";
            yield return "fixed_ips=ip_address_substr%3D10.200";
            yield return $"mac_address={Str(_p2.Port, "mac_address")}";
            yield return $"device_id={Str(_p2.Port, "device_id")}";
        }
    }

    [Theory]
    [InlineData("networks")]
    [InlineData("subnets")]
    [InlineData("ports")]
    [InlineData("routers")]
    public async Task Lists_never_reveal_another_projects_resource_through_filters_fields_sorting_or_markers(string collection)
    {
        var count = 0;
        foreach (var query in ListQueries(collection))
        {
            var response = await api.P1.GetAsync($"/v2.0/{collection}?{query}");
            AssertNoLeak(response, query);
            if (response.Status == HttpStatusCode.OK)
            {
                foreach (var item in response.Items(collection))
                {
                    if (item?["project_id"] is { } project)
                    {
                        Assert.Equal(ApiFactory.Project1, project.GetValue<string>());
                    }
                }
                // Following every pagination link stays inside project1.
                foreach (var link in (response.Json[$"{collection}_links"] as JsonArray ?? []).Select(l => l!["href"]!.GetValue<string>()))
                {
                    var next = await api.P1.GetAsync(new Uri(link).PathAndQuery);
                    AssertNoLeak(next, query);
                }
            }
            count++;
        }
        Assert.True(count >= 20);
    }

    [Theory]
    [InlineData("networks")]
    [InlineData("subnets")]
    [InlineData("ports")]
    [InlineData("routers")]
    public async Task Show_with_fields_of_another_projects_resource_is_404_and_reveals_nothing(string collection)
    {
        var id = _p2.IdOf(collection);
        foreach (var query in new[] { "", "?fields=id", "?fields=name", "?fields=project_id&fields=tenant_id", "?fields=*" })
        {
            var response = await api.P1.GetAsync($"/v2.0/{collection}/{id}{query}");
            response.ExpectNeutronError(HttpStatusCode.NotFound);
            AssertNoLeak(response, id);
        }
    }

    /// <summary>Requests that name project2's resources inside project1's own: the refusals must not describe them.</summary>
    [Fact]
    public async Task Refusals_that_name_another_projects_resources_never_describe_them()
    {
        var net = Id(_p2.Network);
        var subnet = Id(_p2.Subnet);
        var port = Id(_p2.Port);
        var router = Id(_p2.Router);
        var ownRouter = Id(await api.P1.CreateRouterAsync());
        var (ownNetwork, ownSubnet) = await api.P1.CreateNetworkWithSubnetAsync("10.201.0.0/24");
        var ip = _p2.Port["fixed_ips"]![0]!["ip_address"]!.GetValue<string>();
        var probes = new (HttpMethod Method, string Path, JsonObject? Body)[]
        {
            (HttpMethod.Post, "/v2.0/subnets", new JsonObject { ["subnet"] = new JsonObject { ["network_id"] = net, ["cidr"] = "10.202.0.0/24", ["ip_version"] = 4 } }),
            (HttpMethod.Post, "/v2.0/ports", new JsonObject { ["port"] = new JsonObject { ["network_id"] = net } }),
            (HttpMethod.Post, "/v2.0/ports", new JsonObject { ["port"] = new JsonObject { ["network_id"] = Id(ownNetwork), ["fixed_ips"] = new JsonArray(new JsonObject { ["subnet_id"] = subnet }) } }),
            (HttpMethod.Post, "/v2.0/ports", new JsonObject { ["port"] = new JsonObject { ["network_id"] = Id(ownNetwork), ["fixed_ips"] = new JsonArray(new JsonObject { ["subnet_id"] = subnet, ["ip_address"] = ip }) } }),
            (HttpMethod.Post, "/v2.0/ports", new JsonObject { ["port"] = new JsonObject { ["network_id"] = Id(ownNetwork), ["mac_address"] = Str(_p2.Port, "mac_address") } }),
            (HttpMethod.Post, "/v2.0/routers", new JsonObject { ["router"] = new JsonObject { ["external_gateway_info"] = new JsonObject { ["network_id"] = net } } }),
            (HttpMethod.Put, $"/v2.0/routers/{ownRouter}/add_router_interface", new JsonObject { ["subnet_id"] = subnet }),
            (HttpMethod.Put, $"/v2.0/routers/{ownRouter}/add_router_interface", new JsonObject { ["port_id"] = port }),
            (HttpMethod.Put, $"/v2.0/routers/{ownRouter}/remove_router_interface", new JsonObject { ["subnet_id"] = subnet }),
            (HttpMethod.Put, $"/v2.0/routers/{ownRouter}/remove_router_interface", new JsonObject { ["port_id"] = port }),
            (HttpMethod.Put, $"/v2.0/routers/{router}/add_router_interface", new JsonObject { ["subnet_id"] = Id(ownSubnet) }),
            (HttpMethod.Put, $"/v2.0/routers/{router}", new JsonObject { ["router"] = new JsonObject { ["name"] = "x" } }),
            (HttpMethod.Delete, $"/v2.0/networks/{net}", null),
            (HttpMethod.Put, $"/v2.0/networks/{net}/tags/{_p2.Tag}", null),
            (HttpMethod.Get, $"/v2.0/networks/{net}/tags/{_p2.Tag}", null),
            (HttpMethod.Get, $"/v2.0/ports/{port}/tags", null),
            (HttpMethod.Put, $"/v2.0/ports/{port}", new JsonObject { ["port"] = new JsonObject { ["device_id"] = "x" } }),
            (HttpMethod.Post, "/v2.0/networks", new JsonObject { ["network"] = new JsonObject { ["project_id"] = "project2", ["name"] = "x" } }),
        };
        var before = await api.Db.FingerprintAsync();
        foreach (var (method, path, body) in probes)
        {
            var response = await api.P1.SendAsync(method, path, body);
            Assert.True((int)response.Status is >= 400 and < 500, $"{method} {path}: expected a refusal, got {(int)response.Status} {response.Text}");
            AssertNoLeak(response, path + (body?.ToJsonString() ?? ""));
            // A refusal says "not found" for project2's resources, exactly as for ids that do not exist.
            Assert.DoesNotContain("project2", response.Text, StringComparison.Ordinal);
        }
        Assert.Equal(before, await api.Db.FingerprintAsync());
    }

    [Fact]
    public async Task A_subnet_with_the_same_cidr_in_another_project_is_not_an_overlap_and_says_nothing_about_it()
    {
        var (network, _) = await api.P1.CreateNetworkWithSubnetAsync("10.203.0.0/24");
        var response = await api.P1.PostAsync("/v2.0/subnets", new JsonObject
        {
            ["subnet"] = new JsonObject { ["network_id"] = Id(network), ["cidr"] = "10.200.0.0/24", ["ip_version"] = 4 },
        });
        Assert.True(response.Status is HttpStatusCode.Created or HttpStatusCode.BadRequest or HttpStatusCode.Conflict, response.Text);
        AssertNoLeak(response, "");
    }
}
