using Xunit.Abstractions;
using static OutboxSync.Api.Tests.Infrastructure.Neutron;

namespace OutboxSync.Api.Tests.Hostile;

/// <summary>
/// Thousands of generated malformed requests against every endpoint, behind real Kestrel: never a 5xx, every 4xx
/// in Neutron's error shape, and nothing written by any request that had to be refused. The case count per
/// endpoint is printed for the CI log.
/// </summary>
public sealed class HostileInputTests(KestrelApiFactory api, ITestOutputHelper output) : IClassFixture<KestrelApiFactory>
{
    /// <summary>Fresh clean, scratch and foreign (project2) resources of every kind.</summary>
    private async Task<HostileCaseGenerator> GeneratorAsync()
    {
        var (network, subnet) = await api.P1.CreateNetworkWithSubnetAsync("10.77.0.0/24");
        var port = await api.P1.CreatePortAsync(Id(network));
        var router = await api.P1.CreateRouterAsync();

        var (scratchNetwork, scratchSubnet) = await api.P1.CreateNetworkWithSubnetAsync("10.78.0.0/22");
        var scratchPort = await api.P1.CreatePortAsync(Id(scratchNetwork));
        var scratchRouter = await api.P1.CreateRouterAsync();

        var (foreignNetwork, foreignSubnet) = await api.P2.CreateNetworkWithSubnetAsync("10.79.0.0/24");
        var foreignPort = await api.P2.CreatePortAsync(Id(foreignNetwork));
        var foreignRouter = await api.P2.CreateRouterAsync();

        return new HostileCaseGenerator(new HostileTargets(
            Clean: Map(network, subnet, port, router),
            Scratch: Map(scratchNetwork, scratchSubnet, scratchPort, scratchRouter),
            Foreign: Map(foreignNetwork, foreignSubnet, foreignPort, foreignRouter),
            ScratchNetworkId: Id(scratchNetwork)));

        static Dictionary<string, string> Map(JsonObject n, JsonObject s, JsonObject p, JsonObject r) => new()
        {
            ["networks"] = Id(n), ["subnets"] = Id(s), ["ports"] = Id(p), ["routers"] = Id(r),
        };
    }

    private Task RunAsync(IEnumerable<HostileCase> cases) => new HostileRunner(api, output).RunAsync(cases);

    [Theory]
    [InlineData("networks")]
    [InlineData("subnets")]
    [InlineData("ports")]
    [InlineData("routers")]
    public async Task Hostile_requests_to_a_collection_are_never_5xx_always_neutron_errors_and_refused_ones_change_nothing(string collection)
    {
        var generator = await GeneratorAsync();
        await RunAsync(generator.Resource(collection));
    }

    [Fact]
    public async Task Hostile_router_interface_requests_are_never_5xx_always_neutron_errors_and_change_nothing()
    {
        var generator = await GeneratorAsync();
        await RunAsync(generator.RouterInterfaces());
    }

    [Fact]
    public async Task Hostile_tag_requests_are_never_5xx_always_neutron_errors_and_refused_ones_change_nothing()
    {
        var generator = await GeneratorAsync();
        await RunAsync(Collections.SelectMany(generator.Tags).ToList());
    }

    [Fact]
    public async Task Hostile_operator_requests_with_an_admin_token_are_never_5xx_always_neutron_errors()
    {
        var generator = await GeneratorAsync();
        await RunAsync(generator.Operator());
    }

    [Fact]
    public async Task Hostile_requests_to_version_documents_and_unknown_routes_are_never_5xx()
    {
        var generator = await GeneratorAsync();
        await RunAsync(generator.Versions());
    }

    [Fact]
    public void The_generator_is_deterministic_for_a_seed()
    {
        var targets = new HostileTargets(
            Clean: Collections.ToDictionary(c => c, _ => "11111111-1111-1111-1111-111111111111"),
            Scratch: Collections.ToDictionary(c => c, _ => "22222222-2222-2222-2222-222222222222"),
            Foreign: Collections.ToDictionary(c => c, _ => "33333333-3333-3333-3333-333333333333"),
            ScratchNetworkId: "22222222-2222-2222-2222-222222222222");
        static List<string> Describe(HostileCaseGenerator g) => Collections.SelectMany(c => g.Resource(c).Concat(g.Tags(c)))
            .Concat(g.RouterInterfaces()).Concat(g.Operator()).Concat(g.Versions())
            .Select(c => $"{c.Method} {c.Path} {c.Why} {c.Body?.Length}").ToList();
        var first = Describe(new HostileCaseGenerator(targets));
        var second = Describe(new HostileCaseGenerator(targets));
        output.WriteLine($"{first.Count} cases in all");
        Assert.True(first.Count > 3000, $"only {first.Count} cases");
        Assert.Equal(first, second);
    }
}
