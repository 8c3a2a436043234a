using System.Net.Http.Headers;
using System.Text;
using static OutboxSync.Api.Tests.Infrastructure.Neutron;

namespace OutboxSync.Api.Tests.Hostile;

/// <summary>
/// One small test per kind of failure the hostile generator found, so each has its own name in CI and a
/// one-line reproduction. They fail until the API is fixed.
/// </summary>
public sealed class HostileFindingsTests(ApiFactory api) : IClassFixture<ApiFactory>
{
    private async Task<ApiResponse> PostBytesAsync(string path, byte[] body, HttpMethod? method = null)
    {
        using var request = new HttpRequestMessage(method ?? HttpMethod.Post, path) { Content = new ByteArrayContent(body) };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        return await api.P1.SendAsync(request);
    }

    [Theory]
    [InlineData(new byte[] { 0x80 })]
    [InlineData(new byte[] { 0xC0, 0xAF })]
    [InlineData(new byte[] { 0xED, 0xA0, 0x80 })]
    [InlineData(new byte[] { 0xFF })]
    public async Task Invalid_utf8_inside_a_json_string_is_400_not_500_and_changes_nothing(byte[] bad)
    {
        var before = await api.Db.FingerprintAsync();
        byte[] body = [.. Encoding.UTF8.GetBytes("{\"network\":{\"name\":\"ab"), .. bad, .. Encoding.UTF8.GetBytes("cd\"}}")];
        (await PostBytesAsync("/v2.0/networks", body)).ExpectNeutronError(HttpStatusCode.BadRequest);
        var network = await api.P1.CreateNetworkAsync();
        before = await api.Db.FingerprintAsync();
        byte[] tags = [.. Encoding.UTF8.GetBytes("{\"tags\":[\"ab"), .. bad, .. Encoding.UTF8.GetBytes("\"]}")];
        (await PostBytesAsync($"/v2.0/networks/{Id(network)}/tags", tags, HttpMethod.Put)).ExpectNeutronError(HttpStatusCode.BadRequest);
        Assert.Equal(before, await api.Db.FingerprintAsync());
    }

    [Theory]
    [InlineData("lone\\ud800surrogate")]
    [InlineData("\\udfff")]
    [InlineData("end\\ud83d")]
    public async Task A_lone_surrogate_escape_in_a_name_is_400_not_500(string escaped)
    {
        var before = await api.Db.FingerprintAsync();
        var response = await api.P1.PostAsync("/v2.0/networks", $"{{\"network\":{{\"name\":\"{escaped}\"}}}}");
        Assert.True(response.Status == HttpStatusCode.BadRequest, $"{(int)response.Status}: {response.Text}");
        response.ExpectNeutronError(HttpStatusCode.BadRequest);
        Assert.Equal(before, await api.Db.FingerprintAsync());
    }

    [Theory]
    [InlineData("/v2.0/networks?name=%00")]
    [InlineData("/v2.0/ports?device_id=a%00b")]
    [InlineData("/v2.0/subnets?tags=%00")]
    [InlineData("/admin/v1/leases?holder=%00")]
    public async Task A_nul_in_a_query_filter_is_400_not_a_503_database_unavailable(string path)
    {
        var client = path.StartsWith("/admin", StringComparison.Ordinal) ? api.Admin : api.P1;
        var response = await client.GetAsync(path);
        Assert.True(response.Status == HttpStatusCode.BadRequest, $"{path}: {(int)response.Status}: {response.Text}");
        response.ExpectNeutronError(HttpStatusCode.BadRequest);
    }

    [Theory]
    [InlineData("Networks")]
    [InlineData("PORTS")]
    [InlineData("Routers")]
    public async Task A_tags_route_with_a_differently_cased_collection_is_not_a_500(string collection)
    {
        var network = await api.P1.CreateNetworkAsync();
        var response = await api.P1.GetAsync($"/v2.0/{collection}/{Id(network)}/tags");
        Assert.True((int)response.Status < 500, $"{(int)response.Status}: {response.Text}");
    }

    [Theory]
    [InlineData("10.0.0")]
    [InlineData("10.0.0.256")]
    [InlineData("10.0.0.-1")]
    [InlineData(" 10.0.0.1")]
    [InlineData("10.0.0.1 ")]
    [InlineData("0x0a.0.0.1")]
    [InlineData("1.2.3.4/32")]
    public async Task A_router_route_with_an_invalid_nexthop_is_400(string nexthop)
    {
        var before = await api.Db.FingerprintAsync();
        var response = await api.P1.PostAsync("/v2.0/routers", new JsonObject
        {
            ["router"] = new JsonObject
            {
                ["routes"] = new JsonArray(new JsonObject { ["destination"] = "10.9.0.0/24", ["nexthop"] = nexthop }),
            },
        });
        Assert.True(response.Status == HttpStatusCode.BadRequest, $"nexthop '{nexthop}': {(int)response.Status}: {response.Text}");
        Assert.Equal(before, await api.Db.FingerprintAsync());
    }
}
