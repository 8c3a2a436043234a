using static OutboxSync.Api.Tests.Infrastructure.Neutron;

namespace OutboxSync.Api.Tests.Auth;

/// <summary>
/// Each endpoint × caller: the owner (project1) and admin succeed; project2 gets 404 exactly as for a missing id,
/// and the resource is untouched; no token or a bad token is 401 and changes nothing.
/// </summary>
public sealed class TenancyMatrixTests(ApiFactory api) : IClassFixture<ApiFactory>
{
    private sealed record Target(string Collection, string Id, string? SubnetId);

    private static readonly Dictionary<string, HttpStatusCode> Success = new()
    {
        ["show"] = HttpStatusCode.OK,
        ["update"] = HttpStatusCode.OK,
        ["delete"] = HttpStatusCode.NoContent,
        ["tag_put"] = HttpStatusCode.Created,
        ["tag_get"] = HttpStatusCode.NoContent,
        ["tags_get"] = HttpStatusCode.OK,
        ["tags_put"] = HttpStatusCode.OK,
        ["tag_delete"] = HttpStatusCode.NoContent,
        ["tags_delete"] = HttpStatusCode.NoContent,
        ["add_interface"] = HttpStatusCode.OK,
        ["remove_interface"] = HttpStatusCode.OK,
    };

    public static TheoryData<string, string> Endpoints()
    {
        var data = new TheoryData<string, string>();
        foreach (var collection in Collections)
        {
            foreach (var op in new[] { "show", "update", "delete", "tag_put", "tag_get", "tags_get", "tags_put", "tag_delete", "tags_delete" })
            {
                data.Add(collection, op);
            }
        }
        data.Add("routers", "add_interface");
        data.Add("routers", "remove_interface");
        return data;
    }

    public static TheoryData<string> AllCollections() => new(Collections);

    /// <summary>A fresh resource of project1, prepared so that <paramref name="op"/> can succeed for its owner.</summary>
    private async Task<Target> ArrangeAsync(string collection, string op)
    {
        if (op is "add_interface" or "remove_interface")
        {
            var (_, subnet) = await api.P1.CreateNetworkWithSubnetAsync();
            var router = await api.P1.CreateRouterAsync();
            if (op == "remove_interface")
            {
                (await api.P1.PutAsync($"/v2.0/routers/{Id(router)}/add_router_interface", new JsonObject { ["subnet_id"] = Id(subnet) }))
                    .Expect(HttpStatusCode.OK);
            }
            return new Target(collection, Id(router), Id(subnet));
        }
        var id = await api.P1.CreateResourceAsync(collection);
        if (op is "tag_get" or "tag_delete")
        {
            (await api.P1.PutAsync($"/v2.0/{collection}/{id}/tags/t")).Expect(HttpStatusCode.Created);
        }
        return new Target(collection, id, null);
    }

    private static Task<ApiResponse> ActAsync(ApiClient client, string op, Target t)
    {
        var path = $"/v2.0/{t.Collection}/{t.Id}";
        return op switch
        {
            "show" => client.GetAsync(path),
            "update" => client.PutAsync(path, new JsonObject { [Singular(t.Collection)] = new JsonObject { ["name"] = "changed" } }),
            "delete" => client.DeleteAsync(path),
            "tag_put" => client.PutAsync($"{path}/tags/new-tag"),
            "tag_get" => client.GetAsync($"{path}/tags/t"),
            "tags_get" => client.GetAsync($"{path}/tags"),
            "tags_put" => client.PutAsync($"{path}/tags", new JsonObject { ["tags"] = new JsonArray("x", "y") }),
            "tag_delete" => client.DeleteAsync($"{path}/tags/t"),
            "tags_delete" => client.DeleteAsync($"{path}/tags"),
            "add_interface" => client.PutAsync($"{path}/add_router_interface", new JsonObject { ["subnet_id"] = t.SubnetId }),
            "remove_interface" => client.PutAsync($"{path}/remove_router_interface", new JsonObject { ["subnet_id"] = t.SubnetId }),
            _ => throw new ArgumentOutOfRangeException(nameof(op)),
        };
    }

    [Theory]
    [MemberData(nameof(Endpoints))]
    public async Task The_owner_may_use_every_endpoint_on_its_resource(string collection, string op)
    {
        var target = await ArrangeAsync(collection, op);
        (await ActAsync(api.P1, op, target)).Expect(Success[op]);
    }

    [Theory]
    [MemberData(nameof(Endpoints))]
    public async Task Admin_may_use_every_endpoint_on_another_projects_resource(string collection, string op)
    {
        var target = await ArrangeAsync(collection, op);
        (await ActAsync(api.Admin, op, target)).Expect(Success[op]);
    }

    [Theory]
    [MemberData(nameof(Endpoints))]
    public async Task Another_projects_resource_is_404_on_every_endpoint_and_stays_unchanged(string collection, string op)
    {
        var target = await ArrangeAsync(collection, op);
        var before = await api.Db.FingerprintAsync();
        var error = (await ActAsync(api.P2, op, target)).ExpectNeutronError(HttpStatusCode.NotFound);
        Assert.Equal(before, await api.Db.FingerprintAsync());

        // Indistinguishable from an id that does not exist at all.
        var missing = (await ActAsync(api.P2, op, target with { Id = Guid.NewGuid().ToString() })).ExpectNeutronError(HttpStatusCode.NotFound);
        Assert.Equal(missing["type"]!.GetValue<string>(), error["type"]!.GetValue<string>());
    }

    [Theory]
    [MemberData(nameof(Endpoints))]
    public async Task A_missing_token_is_401_on_every_endpoint_and_changes_nothing(string collection, string op)
    {
        var target = await ArrangeAsync(collection, op);
        var before = await api.Db.FingerprintAsync();
        (await ActAsync(api.Anonymous, op, target)).ExpectNeutronError(HttpStatusCode.Unauthorized);
        Assert.Equal(before, await api.Db.FingerprintAsync());
    }

    [Theory]
    [MemberData(nameof(Endpoints))]
    public async Task A_bad_token_is_401_on_every_endpoint_and_changes_nothing(string collection, string op)
    {
        var target = await ArrangeAsync(collection, op);
        var before = await api.Db.FingerprintAsync();
        (await ActAsync(api.Client("not-a-valid-token"), op, target)).ExpectNeutronError(HttpStatusCode.Unauthorized);
        (await ActAsync(api.Client(TokenOfAnotherCase()), op, target)).ExpectNeutronError(HttpStatusCode.Unauthorized);
        Assert.Equal(before, await api.Db.FingerprintAsync());
    }

    private static string TokenOfAnotherCase() => ApiFactory.P1Token.ToUpperInvariant();

    [Theory]
    [MemberData(nameof(AllCollections))]
    public async Task Create_and_list_without_a_valid_token_are_401(string collection)
    {
        var before = await api.Db.FingerprintAsync();
        foreach (var client in new[] { api.Anonymous, api.Client("bogus") })
        {
            (await client.GetAsync($"/v2.0/{collection}")).ExpectNeutronError(HttpStatusCode.Unauthorized);
            (await client.PostAsync($"/v2.0/{collection}", new JsonObject { [Singular(collection)] = new JsonObject { ["name"] = "x" } }))
                .ExpectNeutronError(HttpStatusCode.Unauthorized);
        }
        Assert.Equal(before, await api.Db.FingerprintAsync());
    }

    [Theory]
    [MemberData(nameof(AllCollections))]
    public async Task Another_projects_resources_never_appear_in_lists(string collection)
    {
        var name = Unique("secret");
        var id = await api.P1.CreateResourceAsync(collection, name);
        var queries = new[]
        {
            "",
            $"id={id}",
            $"name={name}",
            "fields=id",
            $"fields=id&id={id}",
            "sort_key=name&sort_dir=desc",
            $"project_id={ApiFactory.Project1}",
            $"tenant_id={ApiFactory.Project1}",
            $"id={id}&sort_key=name&limit=1",
        };
        foreach (var query in queries)
        {
            var response = (await api.P2.GetAsync($"/v2.0/{collection}?{query}")).Expect(HttpStatusCode.OK);
            Assert.DoesNotContain(id, response.Text);
            Assert.DoesNotContain(name, response.Text);
        }
        // Walking every page with a small limit never reaches it either.
        var path = $"/v2.0/{collection}?limit=1";
        for (var page = 0; path is not null && page < 500; page++)
        {
            var response = (await api.P2.GetAsync(path)).Expect(HttpStatusCode.OK);
            Assert.DoesNotContain(id, response.Text);
            var next = (response.Json[$"{collection}_links"] as JsonArray)?.FirstOrDefault(l => l!["rel"]!.GetValue<string>() == "next");
            path = next is null ? null : new Uri(next["href"]!.GetValue<string>()).PathAndQuery;
        }

        Assert.Single((await api.P1.GetAsync($"/v2.0/{collection}?id={id}")).Expect(HttpStatusCode.OK).Items(collection));
        Assert.Single((await api.Admin.GetAsync($"/v2.0/{collection}?id={id}")).Expect(HttpStatusCode.OK).Items(collection));
    }

    [Theory]
    [MemberData(nameof(AllCollections))]
    public async Task A_marker_of_another_projects_resource_is_404(string collection)
    {
        var id = await api.P1.CreateResourceAsync(collection);
        (await api.P2.GetAsync($"/v2.0/{collection}?limit=1&marker={id}")).ExpectNeutronError(HttpStatusCode.NotFound);
        (await api.P2.GetAsync($"/v2.0/{collection}?limit=1&marker={id}&sort_key=name")).ExpectNeutronError(HttpStatusCode.NotFound);
        (await api.P1.GetAsync($"/v2.0/{collection}?limit=1&marker={id}")).Expect(HttpStatusCode.OK);
        (await api.Admin.GetAsync($"/v2.0/{collection}?limit=1&marker={id}")).Expect(HttpStatusCode.OK);
    }

    [Fact]
    public async Task Admin_lists_every_projects_networks_and_members_only_their_own_and_shared_ones()
    {
        var mine = await api.P1.CreateNetworkAsync();
        var theirs = await api.P2.CreateNetworkAsync();
        var shared = await api.Admin.CreateNetworkAsync(extra: new JsonObject { ["shared"] = true });
        var adminIds = Ids((await api.Admin.GetAsync("/v2.0/networks")).Expect(HttpStatusCode.OK).Items("networks"));
        Assert.Contains(Id(mine), adminIds);
        Assert.Contains(Id(theirs), adminIds);
        Assert.Contains(Id(shared), adminIds);

        var p1Ids = Ids((await api.P1.GetAsync("/v2.0/networks")).Expect(HttpStatusCode.OK).Items("networks"));
        Assert.Contains(Id(mine), p1Ids);
        Assert.Contains(Id(shared), p1Ids);
        Assert.DoesNotContain(Id(theirs), p1Ids);
        // Unshared networks a member sees are its own, or external ones (Neutron's default policy).
        var p2Unshared = (await api.P2.GetAsync("/v2.0/networks?shared=false")).Expect(HttpStatusCode.OK).Items("networks");
        Assert.All(p2Unshared, n => Assert.True(Str(n!, "project_id") == ApiFactory.Project2 || n!["router:external"]!.GetValue<bool>(),
            $"network {Id(n!)} of {Str(n!, "project_id")} listed for project2"));
    }

    [Fact]
    public async Task Shared_and_external_networks_and_their_subnets_are_visible_to_every_project_but_changeable_only_by_the_owner()
    {
        var scope = Unique("policy");
        var shared = await api.Admin.CreateNetworkAsync(extra: new JsonObject { ["shared"] = true, ["description"] = scope });
        var external = await api.Admin.CreateNetworkAsync(extra: new JsonObject { ["router:external"] = true, ["description"] = scope });
        var hidden = await api.Admin.CreateNetworkAsync(extra: new JsonObject { ["description"] = scope });
        var sharedSubnet = Id(await api.Admin.CreateSubnetAsync(Id(shared), extra: new JsonObject { ["description"] = scope }));
        var externalSubnet = Id(await api.Admin.CreateSubnetAsync(Id(external), extra: new JsonObject { ["description"] = scope }));
        var hiddenSubnet = Id(await api.Admin.CreateSubnetAsync(Id(hidden), extra: new JsonObject { ["description"] = scope }));

        async Task<List<string>> ListAsync(string collection, string query = "") =>
            Ids((await api.P1.GetAsync($"/v2.0/{collection}?description={scope}{query}")).Expect(HttpStatusCode.OK).Items(collection));

        Assert.Equal(new[] { Id(shared), Id(external) }.Order(), (await ListAsync("networks")).Order());
        Assert.Equal(new[] { sharedSubnet, externalSubnet }.Order(), (await ListAsync("subnets")).Order());
        Assert.Equal([Id(external)], await ListAsync("networks", "&router:external=true"));
        Assert.Equal([Id(shared)], await ListAsync("networks", "&router:external=false"));
        Assert.Equal([sharedSubnet], await ListAsync("subnets", "&shared=true"));
        Assert.Equal([externalSubnet], await ListAsync("subnets", "&shared=false"));
        (await api.P1.GetAsync($"/v2.0/networks/{Id(external)}")).Expect(HttpStatusCode.OK);
        (await api.P1.GetAsync($"/v2.0/subnets/{externalSubnet}")).Expect(HttpStatusCode.OK);
        (await api.P1.GetAsync($"/v2.0/subnets/{sharedSubnet}")).Expect(HttpStatusCode.OK);
        (await api.P1.GetAsync($"/v2.0/networks/{Id(hidden)}")).ExpectNeutronError(HttpStatusCode.NotFound);
        (await api.P1.GetAsync($"/v2.0/subnets/{hiddenSubnet}")).ExpectNeutronError(HttpStatusCode.NotFound);

        // Visible is not changeable: the owner's (and admin's) alone, and any other project is told "not found".
        var before = await api.Db.FingerprintAsync();
        (await api.P1.PutAsync($"/v2.0/subnets/{externalSubnet}", new JsonObject { ["subnet"] = new JsonObject { ["name"] = "mine" } }))
            .ExpectNeutronError(HttpStatusCode.NotFound);
        (await api.P1.DeleteAsync($"/v2.0/subnets/{sharedSubnet}")).ExpectNeutronError(HttpStatusCode.NotFound);
        (await api.P1.PutAsync($"/v2.0/networks/{Id(external)}", new JsonObject { ["network"] = new JsonObject { ["name"] = "mine" } }))
            .ExpectNeutronError(HttpStatusCode.NotFound);
        Assert.Equal(before, await api.Db.FingerprintAsync());

        // Any project may plug a port into a shared network; an external one takes only the owner's ports.
        await api.P1.CreatePortAsync(Id(shared), new JsonObject { ["description"] = scope });
        (await api.P1.PostAsync("/v2.0/ports", new JsonObject { ["port"] = new JsonObject { ["network_id"] = Id(external) } }))
            .ExpectNeutronError(HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task Show_answers_exactly_for_the_resources_the_caller_lists()
    {
        // Show reads through compiled queries whose visibility is written in LINQ, list through the lister's SQL:
        // for every type and caller, the two must agree resource by resource.
        var scope = Unique("vis");
        var created = new Dictionary<string, List<string>> { ["networks"] = [], ["subnets"] = [], ["ports"] = [], ["routers"] = [] };
        async Task CreateAllAsync(ApiClient owner, JsonObject? networkExtra)
        {
            var extra = new JsonObject { ["description"] = scope };
            if (networkExtra is not null) foreach (var (k, v) in networkExtra) extra[k] = v?.DeepClone();
            var network = await owner.CreateNetworkAsync(extra: extra);
            created["networks"].Add(Id(network));
            created["subnets"].Add(Id(await owner.CreateSubnetAsync(Id(network), extra: new JsonObject { ["description"] = scope })));
            created["ports"].Add(Id(await owner.CreatePortAsync(Id(network), new JsonObject { ["description"] = scope })));
            created["routers"].Add(Id(await owner.CreateRouterAsync(extra: new JsonObject { ["description"] = scope })));
        }
        await CreateAllAsync(api.P1, null);
        await CreateAllAsync(api.P2, null);
        await CreateAllAsync(api.Admin, new JsonObject { ["shared"] = true });
        await CreateAllAsync(api.Admin, new JsonObject { ["router:external"] = true });

        foreach (var caller in new[] { api.Admin, api.P1, api.P2 })
        {
            foreach (var (collection, ids) in created)
            {
                var listed = Ids((await caller.GetAsync($"/v2.0/{collection}?description={scope}")).Expect(HttpStatusCode.OK).Items(collection));
                Assert.NotEmpty(listed);
                foreach (var id in ids)
                {
                    var show = await caller.GetAsync($"/v2.0/{collection}/{id}");
                    Assert.Equal(listed.Contains(id) ? HttpStatusCode.OK : HttpStatusCode.NotFound, show.Status);
                }
            }
        }
    }

    [Theory]
    [InlineData("networks")]
    [InlineData("routers")]
    public async Task A_non_admin_cannot_create_in_another_project(string collection)
    {
        var before = await api.Db.FingerprintAsync();
        {
            (await api.P1.PostAsync($"/v2.0/{collection}", new JsonObject
            {
                [Singular(collection)] = new JsonObject { ["name"] = "x", ["project_id"] = ApiFactory.Project2 },
            })).ExpectNeutronError(HttpStatusCode.Forbidden);
            (await api.P1.PostAsync($"/v2.0/{collection}", new JsonObject
            {
                [Singular(collection)] = new JsonObject { ["name"] = "x", ["tenant_id"] = ApiFactory.Project2 },
            })).ExpectNeutronError(HttpStatusCode.Forbidden);
        }
        Assert.Equal(before, await api.Db.FingerprintAsync());
    }
}
