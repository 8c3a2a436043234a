namespace OutboxSync.Api.Tests.Versions;

public sealed class VersionAndExtensionsTests(ApiFactory api) : IClassFixture<ApiFactory>
{
    private static readonly string[] Advertised =
    [
        "router", "extraroute", "external-net", "net-mtu", "project-id", "standard-attr-description", "standard-attr-revisions",
        "standard-attr-timestamp", "standard-attr-tag", "sorting", "pagination", "filter-validation", "binding",
        "security-group", "stateful-security-group", "port-security-groups-filtering", "subnet_allocation",
    ];

    [Fact]
    public async Task Root_lists_version_2_0_as_current_without_a_token()
    {
        var response = (await api.Anonymous.GetAsync("/")).Expect(HttpStatusCode.OK);
        var versions = response.Items("versions");
        var v2 = Assert.Single(versions, v => v!["id"]!.GetValue<string>() == "v2.0");
        Assert.Equal("CURRENT", v2!["status"]!.GetValue<string>());
        var links = Assert.IsType<JsonArray>(v2["links"]);
        Assert.Contains(links, l => l!["rel"]!.GetValue<string>() == "self" && l["href"]!.GetValue<string>().Contains("/v2.0", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("/v2.0")]
    [InlineData("/v2.0/")]
    public async Task Version_document_lists_the_four_resources_without_a_token(string path)
    {
        var response = (await api.Anonymous.GetAsync(path)).Expect(HttpStatusCode.OK);
        var resources = response.Items("resources");
        var collections = resources.Select(r => r!["collection"]!.GetValue<string>()).Order().ToList();
        Assert.Equal(["networks", "ports", "routers", "subnets"], collections);
        foreach (var r in resources)
        {
            Assert.EndsWith("/v2.0/" + r!["collection"]!.GetValue<string>(), r["links"]![0]!["href"]!.GetValue<string>());
        }
    }

    [Fact]
    public async Task Extensions_list_advertises_exactly_the_implemented_extensions()
    {
        var response = (await api.P1.GetAsync("/v2.0/extensions")).Expect(HttpStatusCode.OK);
        var aliases = response.Items("extensions").Select(e => e!["alias"]!.GetValue<string>()).ToList();
        Assert.Equal(aliases.Count, aliases.Distinct().Count());
        Assert.Equal(Advertised.Order(), aliases.Order());
        foreach (var e in response.Items("extensions"))
        {
            Assert.False(string.IsNullOrEmpty(e!["name"]?.GetValue<string>()));
            Assert.NotNull(e["description"]);
        }
    }

    [Fact]
    public async Task Extensions_list_needs_a_token()
    {
        (await api.Anonymous.GetAsync("/v2.0/extensions")).ExpectNeutronError(HttpStatusCode.Unauthorized);
        (await api.Client("not-a-token").GetAsync("/v2.0/extensions")).ExpectNeutronError(HttpStatusCode.Unauthorized);
    }

    public static TheoryData<string> Aliases() => new(Advertised);

    [Theory]
    [MemberData(nameof(Aliases))]
    public async Task Each_advertised_extension_can_be_shown_by_alias(string alias)
    {
        var extension = (await api.P1.GetAsync($"/v2.0/extensions/{alias}")).Expect(HttpStatusCode.OK).Item("extension");
        Assert.Equal(alias, extension["alias"]!.GetValue<string>());
    }

    [Theory]
    [InlineData("dvr")]
    [InlineData("address-scope")]
    [InlineData("qos")]
    public async Task An_unimplemented_extension_is_404(string alias)
    {
        (await api.P1.GetAsync($"/v2.0/extensions/{alias}")).ExpectNeutronError(HttpStatusCode.NotFound);
    }
}
