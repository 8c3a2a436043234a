using Microsoft.AspNetCore.Hosting;
using static OutboxSync.Api.Tests.Infrastructure.Neutron;

namespace OutboxSync.Api.Tests.Endpoints;

/// <summary>
/// List queries. Every test scopes its list with a unique description, so the rows other tests of this class
/// created never show up in its assertions.
/// </summary>
public sealed class ListingTests(ApiFactory api) : IClassFixture<ApiFactory>
{
    private async Task<(string Scope, List<JsonObject> Networks)> SeedNetworksAsync(ApiClient client, params (string Name, JsonObject? Extra)[] specs)
    {
        var scope = Unique("scope");
        var created = new List<JsonObject>();
        foreach (var (name, extra) in specs)
        {
            var body = new JsonObject { ["description"] = scope };
            Merge(body, extra);
            created.Add(await client.CreateNetworkAsync(name, body));
        }
        return (scope, created);
    }

    private async Task<List<JsonObject>> ListAsync(ApiClient client, string query, string collection = "networks") =>
        (await client.GetAsync($"/v2.0/{collection}?{query}")).Expect(HttpStatusCode.OK).Items(collection).Select(i => (JsonObject)i!).ToList();

    private static List<string> Names(IEnumerable<JsonObject> items) => items.Select(i => Str(i, "name")).ToList();

    private static string? Link(ApiResponse response, string collection, string rel) =>
        (response.Json[$"{collection}_links"] as JsonArray)?
            .FirstOrDefault(l => l!["rel"]!.GetValue<string>() == rel)?["href"]?.GetValue<string>() is { } href
            ? new Uri(href).PathAndQuery
            : null;

    /// <summary>Follows <paramref name="rel"/> links from <paramref name="path"/> until there are none.</summary>
    private async Task<(List<List<string>> Pages, string LastPath)> WalkAsync(ApiClient client, string path, string rel, string collection = "networks")
    {
        var pages = new List<List<string>>();
        var current = path;
        while (true)
        {
            var response = (await client.GetAsync(current)).Expect(HttpStatusCode.OK);
            pages.Add(Ids(response.Items(collection)));
            Assert.True(pages.Count <= 50, "pagination does not end");
            var next = Link(response, collection, rel);
            if (next is null)
            {
                return (pages, current);
            }
            current = next;
        }
    }

    [Fact]
    public async Task Filtering_by_name_returns_only_matching_networks()
    {
        var (scope, _) = await SeedNetworksAsync(api.P1, ("alpha", null), ("bravo", null), ("alpha", null));
        var found = await ListAsync(api.P1, $"description={scope}&name=alpha");
        Assert.Equal(["alpha", "alpha"], Names(found));
    }

    [Fact]
    public async Task Repeated_filter_values_match_any_of_them()
    {
        var (scope, _) = await SeedNetworksAsync(api.P1, ("alpha", null), ("bravo", null), ("charlie", null));
        var found = await ListAsync(api.P1, $"description={scope}&name=alpha&name=charlie");
        Assert.Equal(["alpha", "charlie"], Names(found).Order());
    }

    [Fact]
    public async Task Filtering_by_boolean_and_integer_fields_works()
    {
        var (scope, _) = await SeedNetworksAsync(api.P1,
            ("up", null),
            ("down", new JsonObject { ["admin_state_up"] = false }),
            ("jumbo", new JsonObject { ["mtu"] = 9000 }));
        Assert.Equal(["down"], Names(await ListAsync(api.P1, $"description={scope}&admin_state_up=false")));
        Assert.Equal(["jumbo", "up"], Names(await ListAsync(api.P1, $"description={scope}&admin_state_up=true")).Order());
        Assert.Equal(["jumbo"], Names(await ListAsync(api.P1, $"description={scope}&mtu=9000")));
        Assert.Empty(await ListAsync(api.P1, $"description={scope}&shared=true"));
        Assert.Equal(3, (await ListAsync(api.P1, $"description={scope}&shared=false&router:external=false")).Count);
    }

    [Fact]
    public async Task Filtering_by_status_and_id_works()
    {
        var (scope, nets) = await SeedNetworksAsync(api.P1, ("a", null), ("b", null), ("c", null));
        await api.Db.MarkActiveAsync("networks", Id(nets[1]));
        Assert.Equal(["b"], Names(await ListAsync(api.P1, $"description={scope}&status=ACTIVE")));
        Assert.Equal(["a", "c"], Names(await ListAsync(api.P1, $"description={scope}&status=PENDING_CREATE")).Order());
        Assert.Equal(["c"], Names(await ListAsync(api.P1, $"id={Id(nets[2])}")));
        Assert.Equal(["a", "c"], Names(await ListAsync(api.P1, $"id={Id(nets[0])}&id={Id(nets[2])}")).Order());
    }

    [Fact]
    public async Task Filtering_by_project_and_tenant_id_works_for_admin()
    {
        var (scope, _) = await SeedNetworksAsync(api.Admin,
            ("mine", null),
            ("theirs", new JsonObject { ["project_id"] = ApiFactory.Project2 }));
        Assert.Equal(["theirs"], Names(await ListAsync(api.Admin, $"description={scope}&project_id={ApiFactory.Project2}")));
        Assert.Equal(["theirs"], Names(await ListAsync(api.Admin, $"description={scope}&tenant_id={ApiFactory.Project2}")));
        Assert.Equal(["mine"], Names(await ListAsync(api.Admin, $"description={scope}&project_id={ApiFactory.AdminProject}")));
    }

    [Fact]
    public async Task Fields_selects_the_returned_attributes()
    {
        var (scope, _) = await SeedNetworksAsync(api.P1, ("a", null), ("b", null));
        foreach (var query in new[] { "fields=id&fields=name", "fields=id,name" })
        {
            var items = await ListAsync(api.P1, $"description={scope}&{query}");
            Assert.Equal(2, items.Count);
            Assert.All(items, i => Assert.Equal(["id", "name"], i.Select(p => p.Key).Order()));
        }
    }

    [Fact]
    public async Task Paging_forward_with_limit_and_marker_visits_every_network_once()
    {
        var (scope, nets) = await SeedNetworksAsync(api.P1, Enumerable.Range(0, 7).Select(i => ($"n{i}", (JsonObject?)null)).ToArray());
        var (pages, _) = await WalkAsync(api.P1, $"/v2.0/networks?description={scope}&limit=3", "next");

        Assert.Equal([3, 3, 1], pages.Select(p => p.Count));
        var walked = pages.SelectMany(p => p).ToList();
        Assert.Equal(walked.Count, walked.Distinct().Count());
        Assert.Equal(nets.Select(Id).Order(), walked.Order());
    }

    [Fact]
    public async Task A_page_that_exactly_ends_the_list_has_no_next_link()
    {
        var (scope, _) = await SeedNetworksAsync(api.P1, Enumerable.Range(0, 4).Select(i => ($"n{i}", (JsonObject?)null)).ToArray());
        var (pages, _) = await WalkAsync(api.P1, $"/v2.0/networks?description={scope}&limit=2", "next");
        Assert.Equal([2, 2], pages.Select(p => p.Count));

        var all = (await api.P1.GetAsync($"/v2.0/networks?description={scope}&limit=10")).Expect(HttpStatusCode.OK);
        Assert.Equal(4, all.Items("networks").Count);
        Assert.Null(Link(all, "networks", "next"));
    }

    [Fact]
    public async Task Paging_backward_with_previous_links_visits_every_network_once()
    {
        var (scope, nets) = await SeedNetworksAsync(api.P1, Enumerable.Range(0, 7).Select(i => ($"n{i}", (JsonObject?)null)).ToArray());
        var (forward, lastPath) = await WalkAsync(api.P1, $"/v2.0/networks?description={scope}&limit=3&sort_key=name&sort_dir=asc", "next");
        var (backward, _) = await WalkAsync(api.P1, lastPath, "previous");

        var forwardIds = forward.SelectMany(p => p).ToList();
        // Pages walked backward, put back in forward order, give the same sequence.
        var backwardIds = Enumerable.Reverse(backward).SelectMany(p => p).ToList();
        Assert.Equal(forwardIds, backwardIds);
        Assert.Equal(nets.Select(Id).Order(), forwardIds.Order());
    }

    [Fact]
    public async Task Paging_sorted_by_a_key_with_duplicates_has_no_gaps_or_duplicates()
    {
        var specs = Enumerable.Range(0, 9)
            .Select(i => ($"n{i}", (JsonObject?)new JsonObject { ["mtu"] = i % 2 == 0 ? 1400 : 1500 }))
            .ToArray();
        var (scope, nets) = await SeedNetworksAsync(api.P1, specs);
        var (pages, _) = await WalkAsync(api.P1, $"/v2.0/networks?description={scope}&limit=2&sort_key=mtu&sort_dir=desc", "next");
        var walked = pages.SelectMany(p => p).ToList();
        Assert.Equal(walked.Count, walked.Distinct().Count());
        Assert.Equal(nets.Select(Id).Order(), walked.Order());
        var mtuById = nets.ToDictionary(Id, n => n["mtu"]!.GetValue<int>());
        Assert.Equal(walked.Select(id => mtuById[id]).OrderDescending(), walked.Select(id => mtuById[id]));
    }

    [Fact]
    public async Task Sorting_by_one_key_in_each_direction_orders_the_list()
    {
        var (scope, _) = await SeedNetworksAsync(api.P1, ("charlie", null), ("alpha", null), ("bravo", null));
        Assert.Equal(["alpha", "bravo", "charlie"], Names(await ListAsync(api.P1, $"description={scope}&sort_key=name&sort_dir=asc")));
        Assert.Equal(["charlie", "bravo", "alpha"], Names(await ListAsync(api.P1, $"description={scope}&sort_key=name&sort_dir=desc")));
        Assert.Equal(["alpha", "bravo", "charlie"], Names(await ListAsync(api.P1, $"description={scope}&sort_key=name")));
    }

    [Fact]
    public async Task Sorting_by_several_keys_orders_by_each_in_turn()
    {
        var (scope, _) = await SeedNetworksAsync(api.P1,
            ("a", new JsonObject { ["mtu"] = 1500 }),
            ("b", new JsonObject { ["mtu"] = 1400 }),
            ("c", new JsonObject { ["mtu"] = 1500 }),
            ("d", new JsonObject { ["mtu"] = 1400 }));
        Assert.Equal(["d", "b", "c", "a"],
            Names(await ListAsync(api.P1, $"description={scope}&sort_key=mtu&sort_dir=asc&sort_key=name&sort_dir=desc")));
        Assert.Equal(["a", "c", "b", "d"],
            Names(await ListAsync(api.P1, $"description={scope}&sort_key=mtu&sort_dir=desc&sort_key=name&sort_dir=asc")));
    }

    [Fact]
    public async Task Tag_filters_select_by_all_any_and_their_negations()
    {
        var (scope, nets) = await SeedNetworksAsync(api.P1, ("ab", null), ("a", null), ("b", null), ("none", null));
        // Tags are seeded directly so this test depends only on list filtering.
        await api.Db.ExecuteAsync("update networks set tags = $1 where id = $2", new[] { "a", "b" }, Guid.Parse(Id(nets[0])));
        await api.Db.ExecuteAsync("update networks set tags = $1 where id = $2", new[] { "a" }, Guid.Parse(Id(nets[1])));
        await api.Db.ExecuteAsync("update networks set tags = $1 where id = $2", new[] { "b" }, Guid.Parse(Id(nets[2])));

        Assert.Equal(["ab"], Names(await ListAsync(api.P1, $"description={scope}&tags=a,b")));
        Assert.Equal(["ab"], Names(await ListAsync(api.P1, $"description={scope}&tags=a&tags=b")));
        Assert.Equal(["a", "ab", "b"], Names(await ListAsync(api.P1, $"description={scope}&tags-any=a,b")).Order());
        Assert.Equal(["a", "b", "none"], Names(await ListAsync(api.P1, $"description={scope}&not-tags=a,b")).Order());
        Assert.Equal(["none"], Names(await ListAsync(api.P1, $"description={scope}&not-tags-any=a,b")));
        Assert.Equal(["a", "ab"], Names(await ListAsync(api.P1, $"description={scope}&tags=a")).Order());
        Assert.Equal(["a"], Names(await ListAsync(api.P1, $"description={scope}&tags=a&not-tags=b")));
    }

    [Fact]
    public async Task Changed_since_returns_only_networks_updated_at_or_after_the_time()
    {
        var (scope, nets) = await SeedNetworksAsync(api.P1, ("old", null), ("new", null));
        await api.Db.ExecuteAsync("update networks set updated_at = '2020-01-01T00:00:00Z', created_at = '2020-01-01T00:00:00Z' where id = $1",
            Guid.Parse(Id(nets[0])));
        Assert.Equal(["new"], Names(await ListAsync(api.P1, $"description={scope}&changed_since=2021-01-01T00:00:00Z")));
        Assert.Equal(["new", "old"], Names(await ListAsync(api.P1, $"description={scope}&changed_since=2019-06-01T00:00:00Z")).Order());
    }

    [Theory]
    [InlineData("colour=red")]
    [InlineData("subnets=x")]
    [InlineData("sort_key=colour")]
    [InlineData("sort_key=name&sort_dir=sideways")]
    [InlineData("sort_key=name&sort_dir=asc&sort_dir=desc")]
    [InlineData("limit=many")]
    [InlineData("limit=-1")]
    [InlineData("admin_state_up=perhaps")]
    [InlineData("mtu=big")]
    [InlineData("changed_since=yesterday")]
    public async Task An_unknown_filter_or_sort_key_or_invalid_value_is_400(string query)
    {
        (await api.P1.GetAsync($"/v2.0/networks?{query}")).ExpectNeutronError(HttpStatusCode.BadRequest);
    }

    [Fact]
    public async Task A_marker_of_another_projects_network_is_404_and_leaks_nothing()
    {
        var foreign = await api.P2.CreateNetworkAsync();
        var error = (await api.P1.GetAsync($"/v2.0/networks?limit=2&marker={Id(foreign)}")).ExpectNeutronError(HttpStatusCode.NotFound);
        var unknown = (await api.P1.GetAsync($"/v2.0/networks?limit=2&marker={Guid.NewGuid()}")).ExpectNeutronError(HttpStatusCode.NotFound);
        Assert.Equal(unknown["type"]!.GetValue<string>(), error["type"]!.GetValue<string>());
        Assert.DoesNotContain(foreign["name"]!.GetValue<string>(), error.ToJsonString());
    }

    [Fact]
    public async Task Subnets_can_be_filtered_by_network_cidr_and_ip_version()
    {
        var n1 = await api.P1.CreateNetworkAsync();
        var n2 = await api.P1.CreateNetworkAsync();
        var s1 = await api.P1.CreateSubnetAsync(Id(n1), "10.0.0.0/24");
        var s2 = await api.P1.CreateSubnetAsync(Id(n1), "2001:db8::/64");
        var s3 = await api.P1.CreateSubnetAsync(Id(n2), "10.1.0.0/24");
        Assert.Equal(new[] { Id(s1), Id(s2) }.Order(), Ids(new JsonArray((await ListAsync(api.P1, $"network_id={Id(n1)}", "subnets")).Select(x => (JsonNode)x.DeepClone()).ToArray())).Order());
        Assert.Equal([Id(s2)], (await ListAsync(api.P1, $"network_id={Id(n1)}&ip_version=6", "subnets")).Select(Id));
        Assert.Equal([Id(s3)], (await ListAsync(api.P1, $"network_id={Id(n1)}&network_id={Id(n2)}&cidr=10.1.0.0/24", "subnets")).Select(Id));
        (await api.P1.GetAsync("/v2.0/subnets?colour=red")).ExpectNeutronError(HttpStatusCode.BadRequest);
    }

    [Fact]
    public async Task Ports_can_be_filtered_by_network_device_and_fixed_ip()
    {
        var (n, s) = await api.P1.CreateNetworkWithSubnetAsync("10.2.0.0/24");
        var other = await api.P1.CreateNetworkAsync();
        await api.P1.CreateSubnetAsync(Id(other), "10.3.0.0/24");
        var p1 = await api.P1.CreatePortAsync(Id(n), new JsonObject { ["device_owner"] = "compute:nova", ["device_id"] = "vm-1" });
        var p2 = await api.P1.CreatePortAsync(Id(n));
        var p3 = await api.P1.CreatePortAsync(Id(other));
        Assert.Equal(new[] { Id(p1), Id(p2) }.Order(), (await ListAsync(api.P1, $"network_id={Id(n)}", "ports")).Select(Id).Order());
        Assert.Equal([Id(p1)], (await ListAsync(api.P1, $"network_id={Id(n)}&device_owner=compute:nova", "ports")).Select(Id));
        Assert.Equal([Id(p1)], (await ListAsync(api.P1, "device_id=vm-1", "ports")).Select(Id));
        var ip = Str(p3["fixed_ips"]![0]!, "ip_address");
        Assert.Equal([Id(p3)], (await ListAsync(api.P1, $"fixed_ips=ip_address%3D{ip}&network_id={Id(other)}", "ports")).Select(Id));
        Assert.Equal(new[] { Id(p1), Id(p2) }.Order(), (await ListAsync(api.P1, $"fixed_ips=subnet_id%3D{Id(s)}", "ports")).Select(Id).Order());
    }

    [Fact]
    public async Task Routers_can_be_filtered_sorted_and_paged()
    {
        var scope = Unique("r");
        var routers = new List<JsonObject>();
        foreach (var name in new[] { "c", "a", "b" })
        {
            routers.Add(await api.P1.CreateRouterAsync(name, new JsonObject { ["description"] = scope }));
        }
        Assert.Equal(["a", "b", "c"], Names(await ListAsync(api.P1, $"description={scope}&sort_key=name", "routers")));
        Assert.Equal(["b"], Names(await ListAsync(api.P1, $"description={scope}&name=b", "routers")));
        var (pages, _) = await WalkAsync(api.P1, $"/v2.0/routers?description={scope}&limit=2", "next", "routers");
        Assert.Equal(routers.Select(Id).Order(), pages.SelectMany(p => p).Order());
        (await api.P1.GetAsync("/v2.0/routers?sort_key=colour")).ExpectNeutronError(HttpStatusCode.BadRequest);
    }

    [Fact]
    public async Task PENDING_DELETE_networks_stay_in_lists_until_the_back_end_confirms()
    {
        var (scope, nets) = await SeedNetworksAsync(api.P1, ("gone", null), ("kept", null));
        (await api.P1.DeleteAsync($"/v2.0/networks/{Id(nets[0])}")).Expect(HttpStatusCode.NoContent);
        Assert.Equal(["PENDING_DELETE"], (await ListAsync(api.P1, $"description={scope}&name=gone")).Select(n => Str(n, "status")));
        Assert.Equal(["gone"], Names(await ListAsync(api.P1, $"description={scope}&status=PENDING_DELETE")));
    }

    [Fact]
    public async Task A_limit_above_MaxPageSize_is_capped_and_still_pages_through_everything()
    {
        await using var small = api.WithWebHostBuilder(b => b.UseSetting("Api:MaxPageSize", "2"));
        var client = new ApiClient(small.CreateClient(), ApiFactory.P1Token);
        var (scope, nets) = await SeedNetworksAsync(client, ("a", null), ("b", null), ("c", null), ("d", null), ("e", null));
        var first = (await client.GetAsync($"/v2.0/networks?description={scope}&limit=50")).Expect(HttpStatusCode.OK);
        Assert.Equal(2, first.Items("networks").Count);
        Assert.NotNull(Link(first, "networks", "next"));
        var (pages, _) = await WalkAsync(client, $"/v2.0/networks?description={scope}&limit=50", "next");
        Assert.Equal(nets.Select(Id).Order(), pages.SelectMany(p => p).Order());
    }

    [Fact]
    public async Task Success_responses_are_json_and_a_delete_has_no_body()
    {
        var n = await api.P1.CreateNetworkAsync();
        var list = (await api.P1.GetAsync("/v2.0/networks?limit=1")).Expect(HttpStatusCode.OK);
        Assert.Equal("application/json", list.ContentType);
        var shown = (await api.P1.GetAsync($"/v2.0/networks/{Id(n)}")).Expect(HttpStatusCode.OK);
        Assert.Equal("application/json", shown.ContentType);
        var deleted = (await api.P1.DeleteAsync($"/v2.0/networks/{Id(n)}")).Expect(HttpStatusCode.NoContent);
        Assert.Equal("", deleted.Text);
    }
}
