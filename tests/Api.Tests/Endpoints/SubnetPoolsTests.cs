using OutboxSync.Ipam;
using static OutboxSync.Api.Tests.Infrastructure.Neutron;

namespace OutboxSync.Api.Tests.Endpoints;

/// <summary>Neutron's <c>subnet_allocation</c> extension: subnet pools, and subnets cut from them.</summary>
public sealed class SubnetPoolsTests(ApiFactory api) : IClassFixture<ApiFactory>
{
    private static JsonObject Pool(JsonObject attributes) => new() { ["subnetpool"] = attributes };

    private static async Task<JsonObject> CreatePoolAsync(ApiClient client, JsonObject attributes)
    {
        attributes["name"] ??= Unique("pool");
        return (await client.PostAsync("/v2.0/subnetpools", Pool(attributes))).Expect(HttpStatusCode.Created).Item("subnetpool");
    }

    private static Task<ApiResponse> CutAsync(ApiClient client, string networkId, string poolId, JsonObject? extra = null, int version = 4)
    {
        var body = new JsonObject { ["network_id"] = networkId, ["ip_version"] = version, ["subnetpool_id"] = poolId };
        foreach (var (key, value) in extra ?? [])
        {
            body[key] = value?.DeepClone();
        }
        return client.PostAsync("/v2.0/subnets", new JsonObject { ["subnet"] = body });
    }

    private static JsonArray Prefixes(params string[] prefixes) => new([.. prefixes.Select(p => (JsonNode)p)]);

    [Fact]
    public async Task A_pool_keeps_its_prefixes_compacted_with_neutrons_defaults_and_goes_to_the_back_end()
    {
        var pool = await CreatePoolAsync(api.P1, new JsonObject
        {
            ["prefixes"] = Prefixes("10.10.0.0/17", "10.10.128.0/17", "10.10.5.0/24", "192.168.0.0/24"),
        });

        Assert.Equal(["10.10.0.0/16", "192.168.0.0/24"], Strings(pool["prefixes"]));
        Assert.Equal(4, pool["ip_version"]!.GetValue<int>());
        Assert.Equal((8, 32, 8), (pool["min_prefixlen"]!.GetValue<int>(), pool["max_prefixlen"]!.GetValue<int>(), pool["default_prefixlen"]!.GetValue<int>()));
        Assert.False(pool["shared"]!.GetValue<bool>());
        Assert.False(pool["is_default"]!.GetValue<bool>());
        Assert.Null(pool["address_scope_id"]);
        Assert.Equal(ApiFactory.Project1, Str(pool, "project_id"));
        Assert.Equal(1, Revision(pool));
        AssertTimestamp(pool, "created_at");
        var entry = Assert.Single(await api.Db.OutboxForAsync(Id(pool)));
        Assert.Equal(("subnetpool", "create"), (entry.ResourceType, entry.Operation));

        var v6 = await CreatePoolAsync(api.P1, new JsonObject { ["prefixes"] = Prefixes("2001:db8::/48") });
        Assert.Equal((6, 64, 128, 64), (v6["ip_version"]!.GetValue<int>(), v6["min_prefixlen"]!.GetValue<int>(),
            v6["max_prefixlen"]!.GetValue<int>(), v6["default_prefixlen"]!.GetValue<int>()));
        var shown = await api.P1.ShowAsync("subnetpools", Id(pool), "subnetpool");
        Assert.Equal(Strings(pool["prefixes"]), Strings(shown["prefixes"]));
        var listed = (await api.P1.GetAsync("/v2.0/subnetpools?ip_version=6")).Expect(HttpStatusCode.OK).Items("subnetpools");
        Assert.Contains(Id(v6), Ids(listed));
        Assert.DoesNotContain(Id(pool), Ids(listed));
    }

    [Fact]
    public async Task Bad_pools_are_refused_as_neutron_refuses_them()
    {
        async Task RefusedAsync(JsonObject attributes, HttpStatusCode status = HttpStatusCode.BadRequest, ApiClient? client = null) =>
            (await (client ?? api.P1).PostAsync("/v2.0/subnetpools", Pool(attributes))).ExpectNeutronError(status);

        await RefusedAsync(new JsonObject { ["name"] = "no-prefixes" });
        await RefusedAsync(new JsonObject { ["prefixes"] = Prefixes() });
        await RefusedAsync(new JsonObject { ["prefixes"] = Prefixes("10.0.0.0/8", "2001:db8::/32") });
        await RefusedAsync(new JsonObject { ["prefixes"] = Prefixes("10.0.0.1/8") });
        await RefusedAsync(new JsonObject { ["prefixes"] = Prefixes("10.0.0.0/8"), ["min_prefixlen"] = 24, ["max_prefixlen"] = 16 });
        await RefusedAsync(new JsonObject { ["prefixes"] = Prefixes("10.0.0.0/8"), ["min_prefixlen"] = 16, ["default_prefixlen"] = 12 });
        await RefusedAsync(new JsonObject { ["prefixes"] = Prefixes("10.0.0.0/8"), ["max_prefixlen"] = 33 });
        await RefusedAsync(new JsonObject { ["prefixes"] = Prefixes("10.0.0.0/8"), ["is_default"] = true });
        await RefusedAsync(new JsonObject { ["prefixes"] = Prefixes("10.0.0.0/8"), ["address_scope_id"] = Guid.NewGuid().ToString() });
        await RefusedAsync(new JsonObject { ["prefixes"] = Prefixes("10.0.0.0/8"), ["ip_version"] = 4 });
        await RefusedAsync(new JsonObject { ["prefixes"] = Prefixes("10.0.0.0/8"), ["shared"] = true }, HttpStatusCode.Forbidden);
        // The "off" values of what is not supported are accepted.
        await CreatePoolAsync(api.P1, new JsonObject
        {
            ["prefixes"] = Prefixes("10.0.0.0/8"), ["is_default"] = false, ["address_scope_id"] = null, ["default_quota"] = null,
        });
    }

    [Fact]
    public async Task Subnets_are_cut_by_prefix_length_or_by_cidr_without_overlap_and_within_the_pools_bounds()
    {
        var pool = await CreatePoolAsync(api.P1, new JsonObject
        {
            ["prefixes"] = Prefixes("10.20.0.0/16"), ["min_prefixlen"] = 20, ["max_prefixlen"] = 28, ["default_prefixlen"] = 24,
        });
        var network = Id(await api.P1.CreateNetworkAsync());
        var other = Id(await api.P1.CreateNetworkAsync());

        var specific = (await CutAsync(api.P1, network, Id(pool), new JsonObject { ["cidr"] = "10.20.0.0/24" })).Expect(HttpStatusCode.Created).Item("subnet");
        var byDefault = (await CutAsync(api.P1, other, Id(pool))).Expect(HttpStatusCode.Created).Item("subnet");
        var small = (await CutAsync(api.P1, network, Id(pool), new JsonObject { ["prefixlen"] = 28, ["gateway_ip"] = null })).Expect(HttpStatusCode.Created).Item("subnet");

        Assert.Equal("10.20.0.0/24", Str(specific, "cidr"));
        Assert.Equal("10.20.1.0/24", Str(byDefault, "cidr"));
        Assert.Equal("10.20.1.1", Str(byDefault, "gateway_ip"));
        Assert.Equal("10.20.1.2", Str(byDefault["allocation_pools"]![0]!, "start"));
        // The smallest free block that fits: the rest of the /16 after the two /24s starts at 10.20.2.0/23.
        Assert.Equal("10.20.2.0/28", Str(small, "cidr"));
        Assert.Null(small["gateway_ip"]);
        Assert.Equal(Id(pool), Str(byDefault, "subnetpool_id"));
        // The back end gets the pool first: the subnet's create depends on it.
        var entry = Assert.Single(await api.Db.OutboxForAsync(Id(byDefault)));
        Assert.Contains(Guid.Parse(Id(pool)), entry.DependsOn);
        Assert.Equal(Id(pool), Str(entry.Payload, "subnetpool_id"));
        var fromPool = (await api.P1.GetAsync($"/v2.0/subnets?subnetpool_id={Id(pool)}")).Expect(HttpStatusCode.OK).Items("subnets");
        Assert.Equal(new[] { Id(specific), Id(byDefault), Id(small) }.Order(), Ids(fromPool).Order());

        async Task RefusedAsync(JsonObject extra, HttpStatusCode status = HttpStatusCode.BadRequest, string? poolId = null, int version = 4) =>
            (await CutAsync(api.P1, network, poolId ?? Id(pool), extra, version)).ExpectNeutronError(status);

        await RefusedAsync(new JsonObject { ["cidr"] = "10.20.0.128/25" });           // overlaps an allocation
        await RefusedAsync(new JsonObject { ["cidr"] = "10.21.0.0/24" });             // outside the pool
        await RefusedAsync(new JsonObject { ["prefixlen"] = 29 });                    // above max_prefixlen
        await RefusedAsync(new JsonObject { ["prefixlen"] = 19 });                    // below min_prefixlen
        await RefusedAsync(new JsonObject { ["cidr"] = "10.20.9.0/24", ["prefixlen"] = 24 });
        await RefusedAsync(new JsonObject { ["prefixlen"] = 24, ["allocation_pools"] = new JsonArray(new JsonObject { ["start"] = "10.20.9.2", ["end"] = "10.20.9.9" }) });
        await RefusedAsync(new JsonObject { ["cidr"] = "2001:db8::/64" }, version: 6); // an IPv4 pool
        await RefusedAsync(new JsonObject(), HttpStatusCode.NotFound, poolId: Guid.NewGuid().ToString());
        (await api.P1.PostAsync("/v2.0/subnets", new JsonObject
        {
            ["subnet"] = new JsonObject { ["network_id"] = network, ["ip_version"] = 4, ["prefixlen"] = 24 },
        })).ExpectNeutronError(HttpStatusCode.BadRequest);
        (await api.P1.PutAsync($"/v2.0/subnets/{Id(small)}", new JsonObject { ["subnet"] = new JsonObject { ["subnetpool_id"] = null } }))
            .ExpectNeutronError(HttpStatusCode.BadRequest);

        // Exhausted: a /20 pool holds sixteen /24s.
        var tiny = await CreatePoolAsync(api.P1, new JsonObject { ["prefixes"] = Prefixes("10.30.0.0/20"), ["default_prefixlen"] = 24 });
        for (var i = 0; i < 16; i++)
        {
            (await CutAsync(api.P1, network, Id(tiny))).Expect(HttpStatusCode.Created);
        }
        (await CutAsync(api.P1, network, Id(tiny))).ExpectNeutronError(HttpStatusCode.BadRequest);
    }

    [Fact]
    public async Task Concurrent_cuts_from_one_pool_never_overlap_and_stop_when_it_is_full()
    {
        var pool = await CreatePoolAsync(api.P1, new JsonObject { ["prefixes"] = Prefixes("10.40.0.0/22"), ["default_prefixlen"] = 26 });
        var networks = await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => api.P1.CreateNetworkAsync()));

        var answers = await Task.WhenAll(Enumerable.Range(0, 20).Select(i => CutAsync(api.P1, Id(networks[i % 4]), Id(pool))));

        var created = answers.Where(a => a.Status == HttpStatusCode.Created).Select(a => SubnetCidr.Parse(Str(a.Item("subnet"), "cidr"))).ToList();
        Assert.Equal(16, created.Count);
        Assert.All(answers.Where(a => a.Status != HttpStatusCode.Created), a => a.ExpectNeutronError(HttpStatusCode.BadRequest));
        for (var i = 0; i < created.Count; i++)
        {
            Assert.Equal(26, created[i].Prefix);
            for (var j = i + 1; j < created.Count; j++)
            {
                Assert.False(created[i].Range.Overlaps(created[j].Range), $"{created[i]} overlaps {created[j]}");
            }
        }
    }

    [Fact]
    public async Task A_shared_pool_is_usable_by_every_project_but_changed_only_by_its_owner()
    {
        var shared = await CreatePoolAsync(api.Admin, new JsonObject { ["prefixes"] = Prefixes("10.50.0.0/16"), ["shared"] = true, ["default_prefixlen"] = 24 });
        var own = await CreatePoolAsync(api.P1, new JsonObject { ["prefixes"] = Prefixes("10.51.0.0/16") });
        var network = Id(await api.P2.CreateNetworkAsync());

        var visible = Ids((await api.P2.GetAsync("/v2.0/subnetpools")).Expect(HttpStatusCode.OK).Items("subnetpools"));
        Assert.Contains(Id(shared), visible);
        Assert.DoesNotContain(Id(own), visible);
        (await CutAsync(api.P2, network, Id(shared))).Expect(HttpStatusCode.Created);
        (await CutAsync(api.P2, network, Id(own))).ExpectNeutronError(HttpStatusCode.NotFound, "SubnetPoolNotFound");
        (await api.P2.GetAsync($"/v2.0/subnetpools/{Id(own)}")).ExpectNeutronError(HttpStatusCode.NotFound);
        (await api.P2.PutAsync($"/v2.0/subnetpools/{Id(shared)}", Pool(new JsonObject { ["name"] = "mine" }))).ExpectNeutronError(HttpStatusCode.NotFound);
        (await api.P2.DeleteAsync($"/v2.0/subnetpools/{Id(shared)}")).ExpectNeutronError(HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task Prefixes_may_grow_but_not_shrink_and_updates_and_tags_move_the_revision()
    {
        var pool = await CreatePoolAsync(api.P1, new JsonObject { ["prefixes"] = Prefixes("10.60.0.0/24") });

        var grown = (await api.P1.PutAsync($"/v2.0/subnetpools/{Id(pool)}", Pool(new JsonObject
        {
            ["prefixes"] = Prefixes("10.60.0.0/24", "10.60.1.0/24"), ["name"] = "grown", ["max_prefixlen"] = 30,
        }))).Expect(HttpStatusCode.OK).Item("subnetpool");

        Assert.Equal(["10.60.0.0/23"], Strings(grown["prefixes"]));
        Assert.Equal(30, grown["max_prefixlen"]!.GetValue<int>());
        Assert.Equal(2, Revision(grown));
        (await api.P1.PutAsync($"/v2.0/subnetpools/{Id(pool)}", Pool(new JsonObject { ["prefixes"] = Prefixes("10.60.1.0/24") })))
            .ExpectNeutronError(HttpStatusCode.BadRequest);
        (await api.P1.PutAsync($"/v2.0/subnetpools/{Id(pool)}", Pool(new JsonObject { ["shared"] = true }))).ExpectNeutronError(HttpStatusCode.BadRequest);
        (await api.P1.PutAsync($"/v2.0/subnetpools/{Id(pool)}", Pool(new JsonObject { ["default_prefixlen"] = 31 }))).ExpectNeutronError(HttpStatusCode.BadRequest);
        (await api.P1.PutAsync($"/v2.0/subnetpools/{Id(pool)}/tags/blue")).Expect(HttpStatusCode.Created);
        var tagged = await api.P1.ShowAsync("subnetpools", Id(pool), "subnetpool");
        Assert.Equal(["blue"], Strings(tagged["tags"]));
        Assert.Equal(3, Revision(tagged));
        Assert.Equal(["create", "update", "update"], (await api.Db.OutboxForAsync(Id(pool))).Select(e => e.Operation));
    }

    [Fact]
    public async Task A_pool_is_deleted_only_while_no_subnet_holds_a_cidr_from_it()
    {
        var pool = await CreatePoolAsync(api.P1, new JsonObject { ["prefixes"] = Prefixes("10.70.0.0/16"), ["default_prefixlen"] = 24 });
        var network = Id(await api.P1.CreateNetworkAsync());
        var subnet = (await CutAsync(api.P1, network, Id(pool))).Expect(HttpStatusCode.Created).Item("subnet");

        (await api.P1.DeleteAsync($"/v2.0/subnetpools/{Id(pool)}")).ExpectNeutronError(HttpStatusCode.Conflict, "SubnetPoolInUse");
        (await api.P1.DeleteAsync($"/v2.0/subnets/{Id(subnet)}")).Expect(HttpStatusCode.NoContent);
        // The subnet's CIDR stays the pool's until the back end has confirmed the subnet's delete.
        (await api.P1.DeleteAsync($"/v2.0/subnetpools/{Id(pool)}")).ExpectNeutronError(HttpStatusCode.Conflict, "SubnetPoolInUse");

        var unused = await CreatePoolAsync(api.P1, new JsonObject { ["prefixes"] = Prefixes("10.71.0.0/16") });
        (await api.P1.DeleteAsync($"/v2.0/subnetpools/{Id(unused)}")).Expect(HttpStatusCode.NoContent);
        Assert.Equal(["create", "delete"], (await api.Db.OutboxForAsync(Id(unused))).Select(e => e.Operation));
        (await CutAsync(api.P1, network, Id(unused))).ExpectNeutronError(HttpStatusCode.NotFound, "SubnetPoolNotFound");
    }

    [Fact]
    public async Task The_extension_is_advertised()
    {
        var aliases = (await api.P1.GetAsync("/v2.0/extensions")).Expect(HttpStatusCode.OK).Items("extensions").Select(e => Str(e!, "alias"));
        Assert.Contains("subnet_allocation", aliases);
    }
}
