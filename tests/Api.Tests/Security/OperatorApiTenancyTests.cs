using static OutboxSync.Api.Tests.Infrastructure.Neutron;

namespace OutboxSync.Api.Tests.Security;

/// <summary>
/// Every operator route (/admin/v1) × caller: no token and a bad token are 401, a member of a project is 403, and
/// none of them changes anything or learns anything; the admin succeeds. Path tricks never reach the operator API
/// without the admin role.
/// </summary>
public sealed class OperatorApiTenancyTests(ApiFactory api) : IClassFixture<ApiFactory>
{
    private sealed record Route(string Method, string Path);

    public static TheoryData<string> Routes() => new()
    {
        "GET /admin/v1/outbox", "GET /admin/v1/outbox?state=failed&limit=5", "POST /admin/v1/outbox/{failed}/retry",
        "POST /admin/v1/outbox/{pending}/discard", "POST /admin/v1/resources/network/{error}/resync", "POST /admin/v1/reconciliations",
        "GET /admin/v1/reconciliations/latest", "GET /admin/v1/workers", "GET /admin/v1/leases", "GET /admin/v1/leases?holder=x",
        "GET /admin/v1/audit", "GET /admin/v1/audit?limit=3",
    };

    /// <summary>Fresh state so that the route can succeed for the admin: a failed entry, a pending one, a network in ERROR.</summary>
    private async Task<Route> ArrangeAsync(string route)
    {
        var (method, path) = (route.Split(' ')[0], route.Split(' ')[1]);
        if (path.Contains("{failed}", StringComparison.Ordinal))
        {
            var seq = await PendingEntryAsync();
            await api.Db.ExecuteAsync("update outbox_entries set state = 'failed', last_error = 'back end said no' where seq = $1", seq);
            path = path.Replace("{failed}", seq.ToString(System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal);
        }
        if (path.Contains("{pending}", StringComparison.Ordinal))
        {
            path = path.Replace("{pending}", (await PendingEntryAsync()).ToString(System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal);
        }
        if (path.Contains("{error}", StringComparison.Ordinal))
        {
            var id = Id(await api.P1.CreateNetworkAsync());
            await api.Db.ExecuteAsync("update outbox_entries set state = 'failed' where resource_id = $1", Guid.Parse(id));
            await api.Db.ExecuteAsync("update networks set status = 'ERROR', status_reason = 'x' where id = $1", Guid.Parse(id));
            path = path.Replace("{error}", id, StringComparison.Ordinal);
        }
        if (path.EndsWith("/reconciliations/latest", StringComparison.Ordinal))
        {
            (await api.Admin.PostAsync("/admin/v1/reconciliations", new JsonObject())).Expect(HttpStatusCode.Accepted);
        }
        return new Route(method, path);
    }

    private async Task<long> PendingEntryAsync()
    {
        var network = await api.P1.CreateNetworkAsync();
        return (await api.Db.OutboxForAsync(Id(network))).Single().Seq;
    }

    private static Task<ApiResponse> SendAsync(ApiClient client, Route route) =>
        client.SendAsync(new HttpMethod(route.Method), route.Path, route.Method == "POST" ? new JsonObject() : null);

    /// <summary>Operator tables and resource tables together: a refused call changes neither.</summary>
    private async Task<string> FingerprintAsync() =>
        await api.Db.FingerprintAsync() + await api.Db.ScalarAsync<string>(
            "select (select count(*) || ':' || coalesce(md5(string_agg(a::text, '|' order by a::text)), '-') from operator_audit a) || ';' || " +
            "(select count(*) || ':' || coalesce(md5(string_agg(r::text, '|' order by r::text)), '-') from reconciliation_runs r)");

    [Theory]
    [MemberData(nameof(Routes))]
    public async Task Operator_route_without_a_token_is_401_and_changes_nothing(string route)
    {
        var r = await ArrangeAsync(route);
        var before = await FingerprintAsync();
        (await SendAsync(api.Anonymous, r)).ExpectNeutronError(HttpStatusCode.Unauthorized);
        Assert.Equal(before, await FingerprintAsync());
    }

    [Theory]
    [MemberData(nameof(Routes))]
    public async Task Operator_route_with_a_bad_token_is_401_and_changes_nothing(string route)
    {
        var r = await ArrangeAsync(route);
        var before = await FingerprintAsync();
        foreach (var token in new[] { "not-a-token", ApiFactory.AdminToken + "x", ApiFactory.AdminToken.ToUpperInvariant(), " " + ApiFactory.AdminToken,
                     TokenHash(ApiFactory.AdminToken), "' or 1=1 --" })
        {
            (await SendAsync(api.Client(token), r)).ExpectNeutronError(HttpStatusCode.Unauthorized);
        }
        Assert.Equal(before, await FingerprintAsync());
    }

    [Theory]
    [MemberData(nameof(Routes))]
    public async Task Operator_route_for_a_project_member_is_403_and_changes_nothing(string route)
    {
        var r = await ArrangeAsync(route);
        var before = await FingerprintAsync();
        foreach (var member in new[] { api.P1, api.P2 })
        {
            var response = await SendAsync(member, r);
            response.ExpectNeutronError(HttpStatusCode.Forbidden);
            Assert.DoesNotContain("entries", response.Text, StringComparison.Ordinal);
        }
        Assert.Equal(before, await FingerprintAsync());
    }

    [Theory]
    [MemberData(nameof(Routes))]
    public async Task Operator_route_for_the_admin_succeeds(string route)
    {
        var r = await ArrangeAsync(route);
        var response = await SendAsync(api.Admin, r);
        response.ExpectOneOf(r.Path.EndsWith("/reconciliations", StringComparison.Ordinal) ? HttpStatusCode.Accepted : HttpStatusCode.OK);
        Assert.Equal("application/json", response.ContentType);
    }

    /// <summary>Case, doubled slashes, dot segments and percent-encoding must not route around the admin check.</summary>
    [Theory]
    [InlineData("/ADMIN/v1/outbox")]
    [InlineData("/Admin/V1/Outbox")]
    [InlineData("//admin/v1/outbox")]
    [InlineData("/admin//v1/outbox")]
    [InlineData("/admin/v1//outbox")]
    [InlineData("/%61dmin/v1/outbox")]
    [InlineData("/admin%2Fv1%2Foutbox")]
    [InlineData("/v2.0/../admin/v1/outbox")]
    [InlineData("/v2.0/%2E%2E/admin/v1/outbox")]
    [InlineData("/admin/v1/outbox/")]
    [InlineData("/admin/v1/outbox;x=1")]
    [InlineData("/admin/v1/outbox%20")]
    [InlineData("/admin/v1/audit/")]
    [InlineData("/admin/v1/leases.json")]
    public async Task Operator_api_path_variants_never_answer_a_member_or_an_anonymous_caller(string path)
    {
        foreach (var client in new[] { api.Anonymous, api.P1 })
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, path);
            var response = await client.SendAsync(request);
            Assert.True((int)response.Status is 401 or 403 or 404 or 400,
                $"{path}: {(int)response.Status} {response.Text}");
            Assert.DoesNotContain("\"entries\"", response.Text, StringComparison.Ordinal);
            Assert.DoesNotContain("\"audit\"", response.Text, StringComparison.Ordinal);
            Assert.DoesNotContain("\"leases\"", response.Text, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Operator_retry_of_a_resource_in_another_project_is_the_admins_and_is_audited_by_name_never_by_token()
    {
        var seq = await PendingEntryAsync();
        await api.Db.ExecuteAsync("update outbox_entries set state = 'failed' where seq = $1", seq);
        (await api.Admin.PostAsync($"/admin/v1/outbox/{seq}/retry", new JsonObject())).Expect(HttpStatusCode.OK);
        var audit = (await api.Admin.GetAsync("/admin/v1/audit")).Expect(HttpStatusCode.OK);
        Assert.Contains(ApiFactory.AdminProject + "-user", audit.Text, StringComparison.Ordinal);
        Assert.DoesNotContain(ApiFactory.AdminToken, audit.Text, StringComparison.Ordinal);
        Assert.DoesNotContain(TokenHash(ApiFactory.AdminToken), audit.Text, StringComparison.OrdinalIgnoreCase);
    }

    private static string TokenHash(string token) => OutboxSync.Api.Auth.TokenRegistry.Hash(token);
}
