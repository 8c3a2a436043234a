using System.Net.Sockets;
using System.Text;
using Xunit.Abstractions;

namespace OutboxSync.Api.Tests.Hostile;

/// <summary>
/// Requests Kestrel refuses before the application sees them: very long URLs and headers, NUL in the path, broken
/// request lines and raw bytes. They must be 4xx (never 5xx, never a hang) and change nothing. Kestrel writes these
/// refusals itself; KestrelRejections gives them Neutron's error body.
/// </summary>
public sealed class TransportLimitTests(KestrelApiFactory api, ITestOutputHelper output) : IClassFixture<KestrelApiFactory>
{
    private async Task<(int Status, string Body)> SendAsync(string path, IEnumerable<KeyValuePair<string, string>>? headers = null)
    {
        using var http = api.CreateClient();
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        request.Headers.TryAddWithoutValidation("X-Auth-Token", ApiFactory.P1Token);
        foreach (var (name, value) in headers ?? [])
        {
            request.Headers.TryAddWithoutValidation(name, value);
        }
        using var response = await http.SendAsync(request);
        return ((int)response.StatusCode, await response.Content.ReadAsStringAsync());
    }

    /// <summary>Writes raw bytes on a fresh connection and returns the status line Kestrel answers with.</summary>
    private async Task<string> SendRawAsync(byte[] request)
    {
        using var tcp = await ConnectAndWriteAsync(request);
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        var buffer = new byte[4096];
        var read = await tcp.GetStream().ReadAsync(buffer, cts.Token);
        var text = Encoding.ASCII.GetString(buffer, 0, read);
        return text.Split("\r\n")[0];
    }

    /// <summary>Writes raw bytes on a fresh connection and returns everything read until the server closes it (it does
    /// after a refusal).</summary>
    private async Task<string> SendRawForResponseAsync(byte[] request)
    {
        using var tcp = await ConnectAndWriteAsync(request);
        var stream = tcp.GetStream();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        using var response = new MemoryStream();
        var buffer = new byte[4096];
        try
        {
            int read;
            while ((read = await stream.ReadAsync(buffer, cts.Token)) > 0)
            {
                response.Write(buffer, 0, read);
            }
        }
        catch (IOException)
        {
            // A reset after the answer: what was read is the answer.
        }
        return Encoding.UTF8.GetString(response.ToArray());
    }

    private async Task<TcpClient> ConnectAndWriteAsync(byte[] request)
    {
        var baseAddress = api.CreateClient().BaseAddress!;
        var tcp = new TcpClient();
        try
        {
            await tcp.ConnectAsync(baseAddress.Host, baseAddress.Port);
            await tcp.GetStream().WriteAsync(request);
            return tcp;
        }
        catch
        {
            tcp.Dispose();
            throw;
        }
    }

    /// <summary>Asserts a raw HTTP/1.1 response is <paramref name="status"/> with a NeutronError JSON body of that type.</summary>
    private static void AssertNeutronError(string raw, int status, string type)
    {
        var split = raw.IndexOf("\r\n\r\n", StringComparison.Ordinal);
        Assert.True(split > 0, $"no header block in '{raw}'");
        var head = raw[..split];
        Assert.StartsWith($"HTTP/1.1 {status} ", head);
        Assert.Contains("\r\nContent-Type: application/json", head);
        var body = raw[(split + 4)..];
        Assert.Contains($"\r\nContent-Length: {Encoding.UTF8.GetByteCount(body)}\r\n", head + "\r\n");
        var error = Assert.IsType<JsonObject>(JsonNode.Parse(body)!["NeutronError"]);
        Assert.Equal(type, error["type"]!.GetValue<string>());
        Assert.False(string.IsNullOrWhiteSpace(error["message"]!.GetValue<string>()));
        Assert.Equal("", error["detail"]!.GetValue<string>());
    }

    public static TheoryData<string, string> OversizedOrIllegal() => new()
    {
        { "/v2.0/networks/" + new string('a', 9000), "a 9,000-character path" },
        { "/v2.0/networks?name=" + new string('q', 20_000), "a 20,000-character query" },
        { "/v2.0/networks/" + new string('a', 100_000), "a 100,000-character path" },
        { "/v2.0/networks/%00", "NUL in the id" },
        { "/v2.0/networks/x/tags/nul%00tag", "NUL in a tag" },
        { "/admin/v1/resources/%00/x/resync", "NUL in an operator path" },
    };

    [Theory]
    [MemberData(nameof(OversizedOrIllegal))]
    public async Task A_url_kestrel_refuses_is_a_4xx_and_changes_nothing(string path, string why)
    {
        var before = await api.Db.FingerprintAsync();
        var (status, body) = await SendAsync(path);
        output.WriteLine($"{why}: {status} body '{body}'");
        Assert.True(status is >= 400 and < 500, $"{why}: {status} {body}");
        Assert.True(JsonNode.Parse(body)?["NeutronError"]?["type"] is JsonValue, $"{why}: no NeutronError body in '{body}'");
        Assert.Equal(before, await api.Db.FingerprintAsync());
    }

    [Theory]
    [InlineData("/v2.0/networks/%00")]
    [InlineData("/v2.0/networks/x/tags/nul%00tag")]
    [InlineData("/v2.0/networks/%00?fields=id")]
    public async Task A_nul_in_the_path_is_400_HTTPBadRequest_in_neutron_shape_over_raw_http(string path)
    {
        var before = await api.Db.FingerprintAsync();
        var raw = await SendRawForResponseAsync(Encoding.ASCII.GetBytes(
            $"GET {path} HTTP/1.1\r\nHost: x\r\nX-Auth-Token: {ApiFactory.P1Token}\r\n\r\n"));
        output.WriteLine(raw);
        AssertNeutronError(raw, 400, "HTTPBadRequest");
        Assert.Equal(before, await api.Db.FingerprintAsync());
    }

    [Fact]
    public async Task A_refusal_after_answered_requests_on_the_same_connection_is_in_neutron_shape_too()
    {
        var good = $"GET /v2.0/networks HTTP/1.1\r\nHost: x\r\nX-Auth-Token: {ApiFactory.P1Token}\r\n\r\n";
        var raw = await SendRawForResponseAsync(Encoding.ASCII.GetBytes(
            good + good + $"PUT /v2.0/networks/%00 HTTP/1.1\r\nHost: x\r\nX-Auth-Token: {ApiFactory.P1Token}\r\nContent-Length: 2\r\n\r\n{{}}"));
        var responses = raw.Split("HTTP/1.1 ").Where(r => r.Length > 0).ToList();
        Assert.Equal(3, responses.Count);
        Assert.All(responses[..2], r => Assert.StartsWith("200 ", r));
        AssertNeutronError("HTTP/1.1 " + responses[2], 400, "HTTPBadRequest");
    }

    [Fact]
    public async Task A_request_line_kestrel_cannot_parse_is_400_in_neutron_shape()
    {
        var raw = await SendRawForResponseAsync(Encoding.ASCII.GetBytes("GET /v2.0/net works HTTP/1.1\r\nHost: x\r\n\r\n"));
        AssertNeutronError(raw, 400, "HTTPBadRequest");
    }

    [Fact]
    public async Task A_url_over_kestrels_limit_is_414_in_neutron_shape()
    {
        var raw = await SendRawForResponseAsync(Encoding.ASCII.GetBytes($"GET /v2.0/networks/{new string('a', 20_000)} HTTP/1.1\r\nHost: x\r\n\r\n"));
        AssertNeutronError(raw, 414, "HTTPRequestURITooLong");
    }

    [Theory]
    [InlineData("X-Junk", 40_000)]
    [InlineData("X-Auth-Token", 40_000)]
    [InlineData("Cookie", 70_000)]
    public async Task Headers_beyond_kestrels_limit_are_431_never_5xx(string name, int length)
    {
        var (status, body) = await SendAsync("/v2.0/networks", [new(name, new string('h', length))]);
        output.WriteLine($"{name} of {length}: {status} body '{body}'");
        Assert.Equal(431, status);
        Assert.Equal("HTTPRequestHeaderFieldsTooLarge", JsonNode.Parse(body)?["NeutronError"]?["type"]?.GetValue<string>());
    }

    [Fact]
    public async Task Many_headers_below_the_limit_reach_the_app_and_get_a_neutron_answer()
    {
        var headers = Enumerable.Range(0, 90).Select(i => new KeyValuePair<string, string>($"X-H{i}", new string('v', 100)));
        var (status, body) = await SendAsync("/v2.0/networks/not-a-uuid", headers);
        Assert.Equal(404, status);
        Assert.Contains("NeutronError", body, StringComparison.Ordinal);
    }

    public static TheoryData<string, string> RawRequests() => new()
    {
        { "GET /v2.0/networks HTTP/1.1\r\nHost: x\r\nX-Auth-Token: " + ApiFactory.P1Token + "\r\nContent-Length: -1\r\n\r\n", "negative Content-Length" },
        { "GET /v2.0/networks HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nabcdef", "two Content-Lengths" },
        { "POST /v2.0/networks HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\nzz\r\n", "chunked and Content-Length" },
        { "POST /v2.0/networks HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nfffffffffffffffff\r\n", "chunk size overflow" },
        { "GET /v2.0/net works HTTP/1.1\r\nHost: x\r\n\r\n", "space in the path" },
        { "GET v2.0/networks HTTP/1.1\r\nHost: x\r\n\r\n", "no leading slash" },
        { "GET /v2.0/networks HTTP/9.9\r\nHost: x\r\n\r\n", "unknown HTTP version" },
        { "G\u0000T /v2.0/networks HTTP/1.1\r\nHost: x\r\n\r\n", "NUL in the method" },
        { "GET /v2.0/networks HTTP/1.1\r\nHost: x\r\nX-Auth-Token: a\u0000b\r\n\r\n", "NUL in a header" },
        { "GET /v2.0/networks HTTP/1.1\r\nHost: x\r\nBad Header: 1\r\n\r\n", "space in a header name" },
        { "GET /v2.0/networks HTTP/1.1\r\n\r\n", "no Host header" },
        { "GET /v2.0/networks HTTP/1.1\nHost: x\n\n", "bare LF line ends" },
    };

    [Theory]
    [MemberData(nameof(RawRequests))]
    public async Task A_malformed_http_request_is_a_4xx_or_a_closed_connection_never_5xx(string raw, string why)
    {
        var before = await api.Db.FingerprintAsync();
        var statusLine = await SendRawAsync(Encoding.Latin1.GetBytes(raw));
        output.WriteLine($"{why}: '{statusLine}'");
        // 505 is HTTP's own answer to an unknown protocol version (RFC 9110 §15.6.6), written by Kestrel.
        var allowed = why == "unknown HTTP version" ? new[] { '4', '5' } : ['4'];
        Assert.True(statusLine.Length == 0 || allowed.Contains(statusLine.Split(' ')[1][0]), $"{why}: '{statusLine}'");
        if (statusLine.Split(' ') is [_, ['5', ..] status, ..])
        {
            Assert.Equal("505", status);
        }
        Assert.Equal(before, await api.Db.FingerprintAsync());
    }

    [Theory]
    [InlineData(new byte[] { 0xFF, 0xFE })]
    [InlineData(new byte[] { 0xC0, 0xAF })]
    [InlineData(new byte[] { 0xED, 0xA0, 0x80 })]
    [InlineData(new byte[] { 0x80 })]
    public async Task Raw_invalid_utf8_bytes_in_the_path_are_a_4xx_never_5xx(byte[] bytes)
    {
        var request = new List<byte>();
        request.AddRange(Encoding.ASCII.GetBytes("GET /v2.0/networks/"));
        request.AddRange(bytes);
        request.AddRange(Encoding.ASCII.GetBytes($" HTTP/1.1\r\nHost: x\r\nX-Auth-Token: {ApiFactory.P1Token}\r\n\r\n"));
        var statusLine = await SendRawAsync([.. request]);
        output.WriteLine($"{Convert.ToHexString(bytes)}: '{statusLine}'");
        Assert.True(statusLine.Length == 0 || statusLine.Split(' ')[1][0] == '4', statusLine);
    }
}
