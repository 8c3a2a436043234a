using System.Text.RegularExpressions;

namespace OutboxSync.Api.Tests.Infrastructure;

/// <summary>Creates resources through the API (asserting 201) and small JSON helpers.</summary>
public static partial class Neutron
{
    public static string Unique(string prefix) => $"{prefix}-{Guid.NewGuid().ToString("N")[..10]}";

    public static async Task<JsonObject> CreateNetworkAsync(this ApiClient client, string? name = null, JsonObject? extra = null)
    {
        var body = new JsonObject { ["name"] = name ?? Unique("net") };
        Merge(body, extra);
        return (await client.PostAsync("/v2.0/networks", new JsonObject { ["network"] = body }))
            .Expect(HttpStatusCode.Created).Item("network");
    }

    public static async Task<JsonObject> CreateSubnetAsync(this ApiClient client, string networkId, string cidr = "10.0.0.0/24",
        JsonObject? extra = null)
    {
        var body = new JsonObject
        {
            ["network_id"] = networkId,
            ["cidr"] = cidr,
            ["ip_version"] = cidr.Contains(':', StringComparison.Ordinal) ? 6 : 4,
            ["name"] = Unique("subnet"),
        };
        Merge(body, extra);
        return (await client.PostAsync("/v2.0/subnets", new JsonObject { ["subnet"] = body }))
            .Expect(HttpStatusCode.Created).Item("subnet");
    }

    public static async Task<JsonObject> CreatePortAsync(this ApiClient client, string networkId, JsonObject? extra = null)
    {
        var body = new JsonObject { ["network_id"] = networkId, ["name"] = Unique("port") };
        Merge(body, extra);
        return (await client.PostAsync("/v2.0/ports", new JsonObject { ["port"] = body }))
            .Expect(HttpStatusCode.Created).Item("port");
    }

    public static async Task<JsonObject> CreateRouterAsync(this ApiClient client, string? name = null, JsonObject? extra = null)
    {
        var body = new JsonObject { ["name"] = name ?? Unique("router") };
        Merge(body, extra);
        return (await client.PostAsync("/v2.0/routers", new JsonObject { ["router"] = body }))
            .Expect(HttpStatusCode.Created).Item("router");
    }

    /// <summary>A network with one subnet, created by <paramref name="client"/>.</summary>
    public static async Task<(JsonObject Network, JsonObject Subnet)> CreateNetworkWithSubnetAsync(this ApiClient client,
        string cidr = "10.0.0.0/24")
    {
        var network = await client.CreateNetworkAsync();
        var subnet = await client.CreateSubnetAsync(Id(network), cidr);
        return (network, subnet);
    }

    public static async Task<JsonObject> ShowAsync(this ApiClient client, string collection, string id, string singular)
    {
        return (await client.GetAsync($"/v2.0/{collection}/{id}")).Expect(HttpStatusCode.OK).Item(singular);
    }

    public static string Id(JsonNode resource) => Str(resource, "id");

    public static string Str(JsonNode resource, string key) =>
        resource[key]?.GetValue<string>() ?? throw new Xunit.Sdk.XunitException($"'{key}' missing or null in {resource.ToJsonString()}");

    public static long Revision(JsonNode resource) => resource["revision_number"]!.GetValue<long>();

    public static List<string> Ids(JsonArray items) => items.Select(i => Id(i!)).ToList();

    public static List<string> Strings(JsonNode? array) =>
        (array as JsonArray ?? throw new Xunit.Sdk.XunitException("not a list")).Select(i => i!.GetValue<string>()).ToList();

    /// <summary>Neutron timestamps: ISO 8601 UTC seconds, e.g. 2024-01-02T03:04:05Z.</summary>
    public static void AssertTimestamp(JsonNode resource, string key)
    {
        var text = Str(resource, key);
        Assert.Matches(TimestampPattern(), text);
    }

    public static void Merge(JsonObject target, JsonObject? extra)
    {
        if (extra is null)
        {
            return;
        }
        foreach (var (key, value) in extra.ToList())
        {
            target[key] = value?.DeepClone();
        }
    }

    [GeneratedRegex(@"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")]
    private static partial Regex TimestampPattern();
}

public static partial class Neutron
{
    public static readonly string[] Collections = ["networks", "subnets", "ports", "routers"];

    public static string Singular(string collection) => collection[..^1];

    public static string Table(string collection) => collection;

    /// <summary>Creates one resource of <paramref name="collection"/> (with its parents) and returns its id.</summary>
    public static async Task<string> CreateResourceAsync(this ApiClient client, string collection, string? name = null)
    {
        switch (collection)
        {
            case "networks":
                return Id(await client.CreateNetworkAsync(name));
            case "subnets":
            {
                var n = await client.CreateNetworkAsync();
                return Id(await client.CreateSubnetAsync(Id(n), "10.0.0.0/24", name is null ? null : new JsonObject { ["name"] = name }));
            }
            case "ports":
            {
                var (n, _) = await client.CreateNetworkWithSubnetAsync();
                return Id(await client.CreatePortAsync(Id(n), name is null ? null : new JsonObject { ["name"] = name }));
            }
            case "routers":
                return Id(await client.CreateRouterAsync(name));
            default:
                throw new ArgumentOutOfRangeException(nameof(collection));
        }
    }
}
