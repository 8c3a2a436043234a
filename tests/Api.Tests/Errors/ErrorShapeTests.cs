using System.Net.Http.Headers;
using System.Text;
using static OutboxSync.Api.Tests.Infrastructure.Neutron;

namespace OutboxSync.Api.Tests.Errors;

/// <summary>
/// Every rejection has Neutron's error shape and its own status (never a 500), and changes nothing in the
/// database. Runs behind real Kestrel so request limits (413) are enforced as in production.
/// </summary>
public sealed class ErrorShapeTests(KestrelApiFactory api) : IClassFixture<KestrelApiFactory>
{
    private static string Net(string attributes) => $"{{\"network\": {{{attributes}}}}}";

    public static TheoryData<string, string, string, string> BadRequests() => new()
    {
        // method, path ({id} = an existing network of project1), body, why
        { "POST", "/v2.0/networks", "{\"network\": {\"name\": \"x\"", "truncated JSON" },
        { "POST", "/v2.0/networks", "not json at all", "not JSON" },
        { "POST", "/v2.0/networks", "", "empty body" },
        { "POST", "/v2.0/networks", "[]", "a list instead of an object" },
        { "POST", "/v2.0/networks", "{\"name\": \"x\"}", "no envelope" },
        { "POST", "/v2.0/networks", "{\"port\": {\"name\": \"x\"}}", "wrong envelope" },
        { "POST", "/v2.0/networks", "{\"network\": {\"name\": \"x\"}, \"extra\": 1}", "two top-level keys" },
        { "POST", "/v2.0/networks", "{\"network\": \"x\"}", "envelope not an object" },
        { "POST", "/v2.0/networks", "{\"networks\": []}", "empty bulk" },
        { "POST", "/v2.0/networks", Net("\"name\": \"a\", \"name\": \"b\""), "duplicate key" },
        { "POST", "/v2.0/networks", Net("\"colour\": \"red\""), "unknown attribute" },
        { "POST", "/v2.0/networks", Net("\"admin_state_up\": \"maybe\""), "invalid boolean" },
        { "POST", "/v2.0/networks", Net("\"mtu\": \"large\""), "invalid integer" },
        { "POST", "/v2.0/networks", Net("\"mtu\": 10"), "integer out of range" },
        { "POST", "/v2.0/networks", Net("\"mtu\": 1.5"), "fractional integer" },
        { "POST", "/v2.0/networks", Net("\"name\": 42"), "name not a string" },
        { "POST", "/v2.0/networks", Net($"\"name\": \"{new string('n', 256)}\""), "name too long" },
        { "POST", "/v2.0/networks", Net($"\"description\": \"{new string('d', 256)}\""), "description too long" },
        { "POST", "/v2.0/networks", Net("\"id\": \"8d3a1a6e-1b55-4a8e-9a53-0d0c7f1e2b44\""), "read-only id" },
        { "POST", "/v2.0/networks", Net("\"status\": \"ACTIVE\""), "read-only status" },
        { "POST", "/v2.0/networks", Net("\"revision_number\": 5"), "read-only revision" },
        { "POST", "/v2.0/networks", Net("\"created_at\": \"2020-01-01T00:00:00Z\""), "read-only created_at" },
        { "POST", "/v2.0/networks", Net("\"subnets\": []"), "read-only subnets" },
        { "POST", "/v2.0/networks", Net("\"project_id\": \"project1\", \"tenant_id\": \"project2\""), "project_id and tenant_id disagree" },
        { "PUT", "/v2.0/networks/{id}", "{\"network\": {", "truncated JSON on update" },
        { "PUT", "/v2.0/networks/{id}", Net("\"colour\": \"red\""), "unknown attribute on update" },
        { "PUT", "/v2.0/networks/{id}", Net("\"admin_state_up\": null"), "null boolean on update" },
        { "PUT", "/v2.0/networks/{id}", Net("\"project_id\": \"project2\""), "read-only project_id on update" },
        { "PUT", "/v2.0/networks/{id}", Net("\"tenant_id\": \"project1\""), "read-only tenant_id on update" },
        { "PUT", "/v2.0/networks/{id}", Net("\"id\": \"8d3a1a6e-1b55-4a8e-9a53-0d0c7f1e2b44\""), "read-only id on update" },
        { "PUT", "/v2.0/networks/{id}", Net("\"status\": \"ACTIVE\""), "read-only status on update" },
        { "PUT", "/v2.0/networks/{id}", Net("\"revision_number\": 9"), "read-only revision on update" },
        { "PUT", "/v2.0/networks/{id}", "{\"networks\": [{\"name\": \"x\"}]}", "bulk update" },
    };

    [Theory]
    [MemberData(nameof(BadRequests))]
    public async Task A_bad_body_is_400_in_neutron_shape_and_changes_nothing(string method, string path, string body, string why)
    {
        // Admin, so that project_id checks are about the body's consistency and not about policy.
        var client = why.Contains("project_id and tenant_id", StringComparison.Ordinal) ? api.Admin : api.P1;
        if (path.Contains("{id}", StringComparison.Ordinal))
        {
            path = path.Replace("{id}", Id(await api.P1.CreateNetworkAsync()), StringComparison.Ordinal);
        }
        var before = await api.Db.FingerprintAsync();
        var response = await client.SendAsync(new HttpMethod(method), path, body);
        Assert.True(response.Status == HttpStatusCode.BadRequest, $"{why}: expected 400 but got {(int)response.Status}: {response.Text}");
        response.ExpectNeutronError(HttpStatusCode.BadRequest);
        Assert.Equal("application/json", response.ContentType);
        Assert.Equal(before, await api.Db.FingerprintAsync());
    }

    [Fact]
    public async Task A_project_id_that_disagrees_with_tenant_id_is_400_even_for_a_non_admin()
    {
        var before = await api.Db.FingerprintAsync();
        (await api.P1.PostAsync("/v2.0/networks", Net("\"project_id\": \"project1\", \"tenant_id\": \"project2\"")))
            .ExpectOneOf(HttpStatusCode.BadRequest, HttpStatusCode.Forbidden);
        (await api.P1.PostAsync("/v2.0/networks", Net("\"project_id\": \"project2\", \"tenant_id\": \"project1\"")))
            .ExpectOneOf(HttpStatusCode.BadRequest, HttpStatusCode.Forbidden);
        Assert.Equal(before, await api.Db.FingerprintAsync());
    }

    [Theory]
    [InlineData(null)]
    [InlineData("wrong-token")]
    [InlineData("")]
    public async Task A_missing_or_bad_token_is_401_in_neutron_shape(string? token)
    {
        var client = api.Client(token);
        var n = await api.P1.CreateNetworkAsync();
        var before = await api.Db.FingerprintAsync();
        (await client.GetAsync("/v2.0/networks")).ExpectNeutronError(HttpStatusCode.Unauthorized);
        (await client.GetAsync($"/v2.0/networks/{Id(n)}")).ExpectNeutronError(HttpStatusCode.Unauthorized);
        (await client.PostAsync("/v2.0/networks", Net("\"name\": \"x\""))).ExpectNeutronError(HttpStatusCode.Unauthorized);
        (await client.PutAsync($"/v2.0/networks/{Id(n)}", Net("\"name\": \"x\""))).ExpectNeutronError(HttpStatusCode.Unauthorized);
        (await client.DeleteAsync($"/v2.0/networks/{Id(n)}")).ExpectNeutronError(HttpStatusCode.Unauthorized);
        Assert.Equal(before, await api.Db.FingerprintAsync());
    }

    [Theory]
    [InlineData("\"project_id\": \"project2\"")]
    [InlineData("\"tenant_id\": \"project2\"")]
    [InlineData("\"shared\": true")]
    [InlineData("\"router:external\": true")]
    public async Task A_non_admin_setting_a_forbidden_attribute_is_403(string attribute)
    {
        var before = await api.Db.FingerprintAsync();
        (await api.P1.PostAsync("/v2.0/networks", Net(attribute))).ExpectNeutronError(HttpStatusCode.Forbidden);
        Assert.Equal(before, await api.Db.FingerprintAsync());
    }

    [Theory]
    [InlineData("GET", "/v2.0/networks/00000000-0000-0000-0000-000000000000")]
    [InlineData("PUT", "/v2.0/networks/00000000-0000-0000-0000-000000000000")]
    [InlineData("DELETE", "/v2.0/networks/00000000-0000-0000-0000-000000000000")]
    [InlineData("GET", "/v2.0/networks/not-a-uuid")]
    [InlineData("GET", "/v2.0/no-such-collection")]
    [InlineData("GET", "/v2.0/subnets/00000000-0000-0000-0000-000000000000")]
    [InlineData("GET", "/v2.0/ports/00000000-0000-0000-0000-000000000000")]
    [InlineData("GET", "/v2.0/routers/00000000-0000-0000-0000-000000000000")]
    public async Task An_unknown_resource_or_path_is_404_in_neutron_shape(string method, string path)
    {
        var before = await api.Db.FingerprintAsync();
        var body = method == "PUT" ? Net("\"name\": \"x\"") : null;
        (await api.P1.SendAsync(new HttpMethod(method), path, body)).ExpectNeutronError(HttpStatusCode.NotFound);
        Assert.Equal(before, await api.Db.FingerprintAsync());
    }

    [Fact]
    public async Task Deleting_a_network_with_ports_is_409_in_neutron_shape_and_changes_nothing()
    {
        var (n, _) = await api.P1.CreateNetworkWithSubnetAsync();
        await api.P1.CreatePortAsync(Id(n));
        var before = await api.Db.FingerprintAsync();
        var error = (await api.P1.DeleteAsync($"/v2.0/networks/{Id(n)}")).ExpectNeutronError(HttpStatusCode.Conflict, "NetworkInUse");
        Assert.Contains("There are one or more ports still in use on the network", error["message"]!.GetValue<string>());
        Assert.Equal("", error["detail"]!.GetValue<string>());
        Assert.Equal(before, await api.Db.FingerprintAsync());
    }

    [Fact]
    public async Task A_stale_If_Match_is_412_in_neutron_shape_and_changes_nothing()
    {
        var n = await api.P1.CreateNetworkAsync();
        var before = await api.Db.FingerprintAsync();
        (await api.P1.PutAsync($"/v2.0/networks/{Id(n)}", Net("\"name\": \"x\""), ifMatch: "revision_number=2"))
            .ExpectNeutronError(HttpStatusCode.PreconditionFailed);
        (await api.P1.DeleteAsync($"/v2.0/networks/{Id(n)}", ifMatch: "revision_number=0")).ExpectNeutronError(HttpStatusCode.PreconditionFailed);
        Assert.Equal(before, await api.Db.FingerprintAsync());
    }

    [Fact]
    public async Task A_malformed_If_Match_is_400_and_changes_nothing()
    {
        var n = await api.P1.CreateNetworkAsync();
        var before = await api.Db.FingerprintAsync();
        (await api.P1.PutAsync($"/v2.0/networks/{Id(n)}", Net("\"name\": \"x\""), ifMatch: "revision_number=abc"))
            .ExpectNeutronError(HttpStatusCode.BadRequest);
        Assert.Equal(before, await api.Db.FingerprintAsync());
    }

    [Fact]
    public async Task A_body_over_one_mebibyte_is_413_in_neutron_shape_and_changes_nothing()
    {
        var before = await api.Db.FingerprintAsync();
        var body = Net($"\"name\": \"x\", \"description\": \"{new string('d', 1024 * 1024 + 16)}\"");
        (await api.P1.PostAsync("/v2.0/networks", body)).ExpectNeutronError(HttpStatusCode.RequestEntityTooLarge);
        Assert.Equal(before, await api.Db.FingerprintAsync());
    }

    [Fact]
    public async Task A_chunked_body_over_one_mebibyte_is_413_too()
    {
        var before = await api.Db.FingerprintAsync();
        var bytes = Encoding.UTF8.GetBytes(Net($"\"name\": \"x\", \"description\": \"{new string('d', 1024 * 1024 + 16)}\""));
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v2.0/networks") { Content = new UnknownLengthContent(bytes) };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        (await api.P1.SendAsync(request)).ExpectNeutronError(HttpStatusCode.RequestEntityTooLarge);
        Assert.Equal(before, await api.Db.FingerprintAsync());
    }

    [Fact]
    public async Task A_body_just_under_the_limit_is_not_rejected_for_its_size()
    {
        // 1000 KiB of padding in an unknown attribute: rejected as 400 for the attribute, not 413.
        var body = Net($"\"name\": \"x\", \"padding\": \"{new string('p', 1000 * 1024)}\"");
        (await api.P1.PostAsync("/v2.0/networks", body)).ExpectNeutronError(HttpStatusCode.BadRequest);
    }

    [Theory]
    [InlineData("text/plain")]
    [InlineData("application/xml")]
    [InlineData("application/x-www-form-urlencoded")]
    [InlineData("application/jsonx")]
    [InlineData("application/json-seq")]
    public async Task A_wrong_content_type_is_415_in_neutron_shape_and_changes_nothing(string contentType)
    {
        var n = await api.P1.CreateNetworkAsync();
        var before = await api.Db.FingerprintAsync();
        (await api.P1.SendAsync(HttpMethod.Post, "/v2.0/networks", Net("\"name\": \"x\""), contentType: contentType))
            .ExpectNeutronError(HttpStatusCode.UnsupportedMediaType);
        (await api.P1.SendAsync(HttpMethod.Put, $"/v2.0/networks/{Id(n)}", Net("\"name\": \"x\""), contentType: contentType))
            .ExpectNeutronError(HttpStatusCode.UnsupportedMediaType);
        Assert.Equal(before, await api.Db.FingerprintAsync());
    }

    [Fact]
    public async Task A_json_content_type_in_another_letter_case_is_accepted()
    {
        var created = (await api.P1.SendAsync(HttpMethod.Post, "/v2.0/networks", Net("\"name\": \"typed\""), contentType: "Application/JSON"))
            .Expect(HttpStatusCode.Created).Item("network");
        Assert.Equal("typed", Str(created, "name"));
    }

    [Fact]
    public async Task A_json_body_without_a_content_type_is_read_as_json_on_create_and_update()
    {
        using var create = new HttpRequestMessage(HttpMethod.Post, "/v2.0/networks")
        {
            Content = new ByteArrayContent(Encoding.UTF8.GetBytes(Net("\"name\": \"untyped\""))),
        };
        var n = (await api.P1.SendAsync(create)).Expect(HttpStatusCode.Created).Item("network");
        Assert.Equal("untyped", Str(n, "name"));

        using var update = new HttpRequestMessage(HttpMethod.Put, $"/v2.0/networks/{Id(n)}")
        {
            Content = new ByteArrayContent(Encoding.UTF8.GetBytes(Net("\"name\": \"renamed\""))),
        };
        Assert.Null(update.Content.Headers.ContentType);
        Assert.Equal("renamed", Str((await api.P1.SendAsync(update)).Expect(HttpStatusCode.OK).Item("network"), "name"));
    }

    [Fact]
    public async Task A_malformed_body_without_a_content_type_is_400_not_415()
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v2.0/networks")
        {
            Content = new ByteArrayContent(Encoding.UTF8.GetBytes("name=x")),
        };
        var before = await api.Db.FingerprintAsync();
        (await api.P1.SendAsync(request)).ExpectNeutronError(HttpStatusCode.BadRequest);
        Assert.Equal(before, await api.Db.FingerprintAsync());
    }

    [Fact]
    public async Task A_json_content_type_with_charset_is_accepted()
    {
        (await api.P1.SendAsync(HttpMethod.Post, "/v2.0/networks", Net("\"name\": \"x\""), contentType: "application/json; charset=utf-8"))
            .Expect(HttpStatusCode.Created);
    }

    [Fact]
    public async Task An_unsupported_method_is_405_in_neutron_shape()
    {
        var n = await api.P1.CreateNetworkAsync();
        (await api.P1.SendAsync(HttpMethod.Patch, $"/v2.0/networks/{Id(n)}", Net("\"name\": \"x\""))).ExpectNeutronError(HttpStatusCode.MethodNotAllowed);
    }

    [Fact]
    public async Task Updating_a_network_being_deleted_is_rejected_without_a_change()
    {
        var n = await api.P1.CreateNetworkAsync();
        (await api.P1.DeleteAsync($"/v2.0/networks/{Id(n)}")).Expect(HttpStatusCode.NoContent);
        var before = await api.Db.FingerprintAsync();
        var response = await api.P1.PutAsync($"/v2.0/networks/{Id(n)}", Net("\"name\": \"x\""));
        Assert.True((int)response.Status is >= 400 and < 500, $"expected a 4xx, got {response.Status}: {response.Text}");
        response.ExpectNeutronError(response.Status);
        Assert.Equal(before, await api.Db.FingerprintAsync());
    }

    /// <summary>Content without a known length, so the client sends it chunked.</summary>
    private sealed class UnknownLengthContent(byte[] bytes) : HttpContent
    {
        protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context) => stream.WriteAsync(bytes).AsTask();

        protected override bool TryComputeLength(out long length)
        {
            length = -1;
            return false;
        }
    }

    public static TheoryData<string, string> PerCollectionBadBodies()
    {
        var data = new TheoryData<string, string>();
        foreach (var collection in Collections)
        {
            data.Add(collection, "{\"colour\": \"red\"}");
            data.Add(collection, "{\"status\": \"ACTIVE\"}");
            data.Add(collection, "{\"revision_number\": 3}");
            data.Add(collection, "{\"id\": \"8d3a1a6e-1b55-4a8e-9a53-0d0c7f1e2b44\"}");
            data.Add(collection, "{\"name\": [\"not\", \"a\", \"string\"]}");
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(PerCollectionBadBodies))]
    public async Task Every_collection_rejects_unknown_read_only_and_invalid_attributes_with_400(string collection, string attributes)
    {
        var id = await api.P1.CreateResourceAsync(collection);
        string? networkId = null;
        if (collection is "subnets" or "ports")
        {
            networkId = Str(await api.P1.ShowAsync(collection, id, Singular(collection)), "network_id");
        }
        var create = (JsonObject)JsonNode.Parse(attributes)!;
        if (collection == "subnets")
        {
            create["network_id"] = networkId;
            create["cidr"] = "10.200.0.0/24";
            create["ip_version"] = 4;
        }
        if (collection == "ports")
        {
            create["network_id"] = networkId;
        }
        var before = await api.Db.FingerprintAsync();
        (await api.P1.PostAsync($"/v2.0/{collection}", new JsonObject { [Singular(collection)] = create }))
            .ExpectNeutronError(HttpStatusCode.BadRequest);
        (await api.P1.PutAsync($"/v2.0/{collection}/{id}", $"{{\"{Singular(collection)}\": {attributes}}}"))
            .ExpectNeutronError(HttpStatusCode.BadRequest);
        (await api.P1.PutAsync($"/v2.0/{collection}/{id}", $"{{\"{Singular(collection)}\": {{")).ExpectNeutronError(HttpStatusCode.BadRequest);
        Assert.Equal(before, await api.Db.FingerprintAsync());
    }

    [Theory]
    [MemberData(nameof(PerCollectionTypes))]
    public async Task Every_collection_answers_415_for_a_non_json_body(string collection)
    {
        var id = await api.P1.CreateResourceAsync(collection);
        var before = await api.Db.FingerprintAsync();
        (await api.P1.SendAsync(HttpMethod.Post, $"/v2.0/{collection}", "name=x", contentType: "application/x-www-form-urlencoded"))
            .ExpectNeutronError(HttpStatusCode.UnsupportedMediaType);
        (await api.P1.SendAsync(HttpMethod.Put, $"/v2.0/{collection}/{id}", "name=x", contentType: "text/plain"))
            .ExpectNeutronError(HttpStatusCode.UnsupportedMediaType);
        Assert.Equal(before, await api.Db.FingerprintAsync());
    }

    public static TheoryData<string> PerCollectionTypes() => new(Collections);

    public static TheoryData<string, string> MalformedValues() => new()
    {
        { "subnets", "\"cidr\": 42" },
        { "subnets", "\"cidr\": null" },
        { "subnets", "\"ip_version\": \"six\"" },
        { "subnets", "\"gateway_ip\": 5" },
        { "subnets", "\"gateway_ip\": \"10.100.0.0\"" },
        { "subnets", "\"gateway_ip\": \"10.100.0.255\"" },
        { "subnets", "\"enable_dhcp\": \"maybe\"" },
        { "subnets", "\"allocation_pools\": \"x\"" },
        { "subnets", "\"allocation_pools\": [1]" },
        { "subnets", "\"allocation_pools\": [{\"start\": \"10.100.0.5\"}]" },
        { "subnets", "\"allocation_pools\": [{\"start\": 1, \"end\": 2}]" },
        { "subnets", "\"allocation_pools\": [{\"start\": \"2001:db8::1\", \"end\": \"2001:db8::5\"}]" },
        { "subnets", "\"dns_nameservers\": \"8.8.8.8\"" },
        { "subnets", "\"dns_nameservers\": [1]" },
        { "subnets", "\"dns_nameservers\": [\"not-an-ip\"]" },
        { "subnets", "\"host_routes\": \"x\"" },
        { "subnets", "\"host_routes\": [{\"destination\": \"bad\", \"nexthop\": \"10.100.0.5\"}]" },
        { "subnets", "\"host_routes\": [{\"destination\": \"172.16.0.0/16\", \"nexthop\": \"bad\"}]" },
        { "subnets", "\"host_routes\": [{\"destination\": \"172.16.0.0/16\"}]" },
        { "subnets", "\"network_id\": \"not-a-uuid\"" },
        { "subnets", "\"network_id\": 7" },
        { "ports", "\"fixed_ips\": [1]" },
        { "ports", "\"fixed_ips\": [{}]" },
        { "ports", "\"fixed_ips\": [{\"subnet_id\": \"not-a-uuid\"}]" },
        { "ports", "\"fixed_ips\": [{\"subnet_id\": 5}]" },
        { "ports", "\"fixed_ips\": [{\"ip_address\": 5}]" },
        { "ports", "\"fixed_ips\": {\"ip_address\": \"10.100.0.5\"}" },
        { "ports", "\"mac_address\": null" },
        { "ports", "\"mac_address\": \"ff:ff:ff:ff:ff:ff\"" },
        { "ports", "\"mac_address\": \"01:00:5e:00:00:01\"" },
        { "ports", "\"mac_address\": \"00:00:00:00:00:00\"" },
        { "ports", "\"device_owner\": 5" },
        { "ports", "\"network_id\": \"not-a-uuid\"" },
        { "ports", "\"network_id\": null" },
        { "routers", "\"external_gateway_info\": \"x\"" },
        { "routers", "\"external_gateway_info\": {\"network_id\": \"not-a-uuid\"}" },
        { "routers", "\"external_gateway_info\": {\"colour\": \"red\"}" },
        { "routers", "\"routes\": \"x\"" },
        { "routers", "\"routes\": [{\"destination\": \"bad\", \"nexthop\": \"10.0.0.1\"}]" },
        { "routers", "\"routes\": [1]" },
        { "routers", "\"admin_state_up\": 3" },
        { "networks", "\"mtu\": 100000" },
        { "networks", "\"mtu\": -1" },
        { "networks", "\"mtu\": 99999999999999999999" },
        { "networks", "\"name\": \"nul\\u0000char\"" },
        { "networks", "\"description\": {}" },
    };

    [Theory]
    [MemberData(nameof(MalformedValues))]
    public async Task A_malformed_attribute_value_is_400_never_500_and_changes_nothing(string collection, string attribute)
    {
        var network = await api.P1.CreateNetworkAsync();
        await api.P1.CreateSubnetAsync(Id(network), "10.100.0.0/24");
        var body = collection switch
        {
            "subnets" => $"\"network_id\": \"{Id(network)}\", \"cidr\": \"10.101.0.0/24\", \"ip_version\": 4",
            "ports" => $"\"network_id\": \"{Id(network)}\"",
            _ => "\"name\": \"x\"",
        };
        // The malformed attribute overrides a default of the same name (later duplicate keys are not allowed, so replace).
        var json = (JsonObject)JsonNode.Parse($"{{{body}}}")!;
        var bad = (JsonObject)JsonNode.Parse($"{{{attribute}}}")!;
        if (collection == "subnets" && attribute.Contains("10.100.0.", StringComparison.Ordinal))
        {
            json["cidr"] = "10.100.0.0/24";
            json["network_id"] = Id(await api.P1.CreateNetworkAsync());
        }
        Merge(json, bad);
        var before = await api.Db.FingerprintAsync();
        var response = await api.P1.PostAsync($"/v2.0/{collection}", new JsonObject { [Singular(collection)] = json });
        Assert.True(response.Status == HttpStatusCode.BadRequest, $"{attribute}: expected 400 but got {(int)response.Status}: {response.Text}");
        response.ExpectNeutronError(HttpStatusCode.BadRequest);
        Assert.Equal(before, await api.Db.FingerprintAsync());
    }

    [Theory]
    [InlineData("10.102.0.0/0")]
    [InlineData("10.102.0.0/31")]
    [InlineData("10.102.0.0/32")]
    [InlineData("0.0.0.0/0")]
    [InlineData("2001:db8:102::/127")]
    [InlineData("2001:db8:102::/128")]
    [InlineData("::/0")]
    public async Task An_edge_case_cidr_is_accepted_or_400_but_never_500(string cidr)
    {
        var n = await api.P1.CreateNetworkAsync();
        var response = await api.P1.PostAsync("/v2.0/subnets", new JsonObject
        {
            ["subnet"] = new JsonObject { ["network_id"] = Id(n), ["cidr"] = cidr, ["ip_version"] = cidr.Contains(':') ? 6 : 4 },
        });
        response.ExpectOneOf(HttpStatusCode.Created, HttpStatusCode.BadRequest);
        if (response.Status == HttpStatusCode.Created)
        {
            // Whatever was accepted must allow a port create that is either placed or cleanly refused.
            var port = await api.P1.PostAsync("/v2.0/ports", new JsonObject { ["port"] = new JsonObject { ["network_id"] = Id(n) } });
            port.ExpectOneOf(HttpStatusCode.Created, HttpStatusCode.Conflict);
        }
    }

    [Theory]
    [InlineData("/")]
    [InlineData("/v2.0")]
    [InlineData("/v2.0/")]
    public async Task Version_documents_behind_kestrel_are_200_never_a_500(string path)
    {
        var response = await api.Anonymous.GetAsync(path);
        Assert.True(response.Status == HttpStatusCode.OK, $"GET {path}: expected 200 but got {(int)response.Status}: '{response.Text}'");
    }
}
