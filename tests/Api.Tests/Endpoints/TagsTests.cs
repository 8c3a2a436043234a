using static OutboxSync.Api.Tests.Infrastructure.Neutron;

namespace OutboxSync.Api.Tests.Endpoints;

public sealed class TagsTests(ApiFactory api) : IClassFixture<ApiFactory>
{
    public static TheoryData<string> AllCollections() => new(Collections);

    private async Task<List<string>> TagsOf(string collection, string id) =>
        Strings((await api.P1.ShowAsync(collection, id, Singular(collection)))["tags"]);

    [Theory]
    [MemberData(nameof(AllCollections))]
    public async Task Putting_one_tag_is_201_and_shows_on_the_resource(string collection)
    {
        var id = await api.P1.CreateResourceAsync(collection);
        (await api.P1.PutAsync($"/v2.0/{collection}/{id}/tags/red")).Expect(HttpStatusCode.Created);
        (await api.P1.PutAsync($"/v2.0/{collection}/{id}/tags/blue")).Expect(HttpStatusCode.Created);
        Assert.Equal(["blue", "red"], (await TagsOf(collection, id)).Order());
    }

    [Theory]
    [MemberData(nameof(AllCollections))]
    public async Task Getting_a_tag_is_204_when_present_and_404_when_absent(string collection)
    {
        var id = await api.P1.CreateResourceAsync(collection);
        (await api.P1.PutAsync($"/v2.0/{collection}/{id}/tags/present")).Expect(HttpStatusCode.Created);
        (await api.P1.GetAsync($"/v2.0/{collection}/{id}/tags/present")).Expect(HttpStatusCode.NoContent);
        (await api.P1.GetAsync($"/v2.0/{collection}/{id}/tags/absent")).ExpectNeutronError(HttpStatusCode.NotFound);
    }

    [Theory]
    [MemberData(nameof(AllCollections))]
    public async Task Listing_tags_returns_them_all(string collection)
    {
        var id = await api.P1.CreateResourceAsync(collection);
        (await api.P1.PutAsync($"/v2.0/{collection}/{id}/tags/a")).Expect(HttpStatusCode.Created);
        (await api.P1.PutAsync($"/v2.0/{collection}/{id}/tags/b")).Expect(HttpStatusCode.Created);
        var tags = (await api.P1.GetAsync($"/v2.0/{collection}/{id}/tags")).Expect(HttpStatusCode.OK).Json["tags"];
        Assert.Equal(["a", "b"], Strings(tags).Order());
    }

    [Theory]
    [MemberData(nameof(AllCollections))]
    public async Task Putting_the_tag_list_replaces_all_tags_and_returns_them(string collection)
    {
        var id = await api.P1.CreateResourceAsync(collection);
        (await api.P1.PutAsync($"/v2.0/{collection}/{id}/tags/old")).Expect(HttpStatusCode.Created);

        var response = (await api.P1.PutAsync($"/v2.0/{collection}/{id}/tags",
            new JsonObject { ["tags"] = new JsonArray("x", "y", "z") })).Expect(HttpStatusCode.OK);
        Assert.Equal(["x", "y", "z"], Strings(response.Json["tags"]).Order());
        Assert.Equal(["x", "y", "z"], (await TagsOf(collection, id)).Order());
    }

    [Theory]
    [MemberData(nameof(AllCollections))]
    public async Task Deleting_a_tag_is_204_and_then_404(string collection)
    {
        var id = await api.P1.CreateResourceAsync(collection);
        (await api.P1.PutAsync($"/v2.0/{collection}/{id}/tags", new JsonObject { ["tags"] = new JsonArray("keep", "drop") }))
            .Expect(HttpStatusCode.OK);
        (await api.P1.DeleteAsync($"/v2.0/{collection}/{id}/tags/drop")).Expect(HttpStatusCode.NoContent);
        Assert.Equal(["keep"], await TagsOf(collection, id));
        (await api.P1.DeleteAsync($"/v2.0/{collection}/{id}/tags/drop")).ExpectNeutronError(HttpStatusCode.NotFound);
    }

    [Theory]
    [MemberData(nameof(AllCollections))]
    public async Task Deleting_all_tags_is_204_and_leaves_none(string collection)
    {
        var id = await api.P1.CreateResourceAsync(collection);
        (await api.P1.PutAsync($"/v2.0/{collection}/{id}/tags", new JsonObject { ["tags"] = new JsonArray("a", "b") })).Expect(HttpStatusCode.OK);
        (await api.P1.DeleteAsync($"/v2.0/{collection}/{id}/tags")).Expect(HttpStatusCode.NoContent);
        Assert.Empty(await TagsOf(collection, id));
    }

    [Theory]
    [MemberData(nameof(AllCollections))]
    public async Task A_tag_change_bumps_the_revision_and_appends_one_update_entry(string collection)
    {
        var id = await api.P1.CreateResourceAsync(collection);
        var before = await api.Db.OutboxForAsync(id);
        (await api.P1.PutAsync($"/v2.0/{collection}/{id}/tags/rev")).Expect(HttpStatusCode.Created);
        var shown = await api.P1.ShowAsync(collection, id, Singular(collection));
        Assert.Equal(2, Revision(shown));
        var after = await api.Db.OutboxForAsync(id);
        Assert.Equal(before.Count + 1, after.Count);
        Assert.Equal("update", after[^1].Operation);
        Assert.Equal(["rev"], Strings(after[^1].Payload["tags"]));
    }

    [Fact]
    public async Task Putting_an_existing_tag_again_changes_nothing()
    {
        var id = await api.P1.CreateResourceAsync("networks");
        (await api.P1.PutAsync($"/v2.0/networks/{id}/tags/same")).Expect(HttpStatusCode.Created);
        var before = await api.Db.FingerprintAsync();
        (await api.P1.PutAsync($"/v2.0/networks/{id}/tags/same")).ExpectOneOf(HttpStatusCode.Created, HttpStatusCode.OK, HttpStatusCode.NoContent);
        Assert.Equal(["same"], await TagsOf("networks", id));
        Assert.Equal(before, await api.Db.FingerprintAsync());
    }

    [Theory]
    [InlineData("{\"tags\": \"not-a-list\"}")]
    [InlineData("{\"tags\": [1, 2]}")]
    [InlineData("{\"labels\": [\"a\"]}")]
    [InlineData("{\"tags\": [\"a\"")]
    public async Task A_malformed_tag_list_is_400_and_changes_nothing(string body)
    {
        var id = await api.P1.CreateResourceAsync("networks");
        var before = await api.Db.FingerprintAsync();
        (await api.P1.PutAsync($"/v2.0/networks/{id}/tags", body)).ExpectNeutronError(HttpStatusCode.BadRequest);
        Assert.Equal(before, await api.Db.FingerprintAsync());
    }

    [Fact]
    public async Task Tags_on_an_unknown_resource_are_404()
    {
        var missing = Guid.NewGuid();
        (await api.P1.PutAsync($"/v2.0/networks/{missing}/tags/x")).ExpectNeutronError(HttpStatusCode.NotFound);
        (await api.P1.PutAsync($"/v2.0/routers/{missing}/tags", new JsonObject { ["tags"] = new JsonArray("x") })).ExpectNeutronError(HttpStatusCode.NotFound);
        (await api.P1.GetAsync($"/v2.0/ports/{missing}/tags/x")).ExpectNeutronError(HttpStatusCode.NotFound);
        (await api.P1.DeleteAsync($"/v2.0/subnets/{missing}/tags")).ExpectNeutronError(HttpStatusCode.NotFound);
    }

    [Theory]
    [InlineData("a,b")]
    [InlineData("")]
    [InlineData(null)]   // 256 characters
    public async Task An_invalid_tag_is_400_and_changes_nothing(string? tag)
    {
        tag ??= new string('t', 256);
        var id = await api.P1.CreateResourceAsync("networks");
        var before = await api.Db.FingerprintAsync();
        if (tag.Length > 0)
        {
            (await api.P1.PutAsync($"/v2.0/networks/{id}/tags/{Uri.EscapeDataString(tag)}")).ExpectNeutronError(HttpStatusCode.BadRequest);
        }
        (await api.P1.PutAsync($"/v2.0/networks/{id}/tags", new JsonObject { ["tags"] = new JsonArray(tag) })).ExpectNeutronError(HttpStatusCode.BadRequest);
        Assert.Equal(before, await api.Db.FingerprintAsync());
    }

    [Fact]
    public async Task Tags_set_through_the_api_are_found_by_the_tag_filters()
    {
        var scope = Unique("tagscope");
        var a = await api.P1.CreateNetworkAsync(extra: new JsonObject { ["description"] = scope });
        var b = await api.P1.CreateNetworkAsync(extra: new JsonObject { ["description"] = scope });
        (await api.P1.PutAsync($"/v2.0/networks/{Id(a)}/tags", new JsonObject { ["tags"] = new JsonArray("red", "blue") })).Expect(HttpStatusCode.OK);
        (await api.P1.PutAsync($"/v2.0/networks/{Id(b)}/tags/red")).Expect(HttpStatusCode.Created);
        var both = Ids((await api.P1.GetAsync($"/v2.0/networks?description={scope}&tags=red,blue")).Expect(HttpStatusCode.OK).Items("networks"));
        Assert.Equal([Id(a)], both);
        var notBlue = Ids((await api.P1.GetAsync($"/v2.0/networks?description={scope}&not-tags=blue")).Expect(HttpStatusCode.OK).Items("networks"));
        Assert.Equal([Id(b)], notBlue);
    }

    [Fact]
    public async Task Concurrent_tag_additions_on_one_resource_are_never_lost()
    {
        var id = await api.P1.CreateResourceAsync("networks");
        var responses = await Task.WhenAll(Enumerable.Range(0, 20).Select(i => Task.Run(() => api.P1.PutAsync($"/v2.0/networks/{id}/tags/t{i:D2}"))));
        Assert.All(responses, r => r.Expect(HttpStatusCode.Created));
        var shown = await api.P1.ShowAsync("networks", id, "network");
        Assert.Equal(Enumerable.Range(0, 20).Select(i => $"t{i:D2}"), Strings(shown["tags"]).Order());
        Assert.Equal(21, Revision(shown));
        Assert.Equal(21, (await api.Db.OutboxForAsync(id)).Count);
    }
}
