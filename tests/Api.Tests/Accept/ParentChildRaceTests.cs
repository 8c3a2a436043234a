using static OutboxSync.Api.Tests.Infrastructure.Neutron;

namespace OutboxSync.Api.Tests.Accept;

/// <summary>
/// A parent's delete racing child creates never leaves a live child under a PENDING_DELETE parent, and every
/// request ends in a clean status (never a 500).
/// </summary>
public sealed class ParentChildRaceTests(ApiFactory api) : IClassFixture<ApiFactory>
{
    private const int Rounds = 5;

    private static async Task<ApiResponse[]> RaceAsync(params Func<Task<ApiResponse>>[] requests)
    {
        using var start = new SemaphoreSlim(0);
        var tasks = requests.Select(r => Task.Run(async () =>
        {
            await start.WaitAsync(TimeSpan.FromSeconds(10));
            return await r();
        })).ToArray();
        start.Release(requests.Length);
        return await Task.WhenAll(tasks);
    }

    private static void AssertClean(IEnumerable<ApiResponse> responses, params HttpStatusCode[] allowed)
    {
        foreach (var r in responses)
        {
            Assert.True(allowed.Contains(r.Status), $"{r.Request} -> {(int)r.Status}: {r.Text}");
        }
    }

    [Fact]
    public async Task A_network_delete_racing_port_creates_never_leaves_a_live_port_on_a_deleted_network()
    {
        for (var round = 0; round < Rounds; round++)
        {
            var (n, _) = await api.P1.CreateNetworkWithSubnetAsync($"10.{round}.0.0/24");
            var requests = Enumerable.Range(0, 8)
                .Select(_ => (Func<Task<ApiResponse>>)(() =>
                    api.P1.PostAsync("/v2.0/ports", new JsonObject { ["port"] = new JsonObject { ["network_id"] = Id(n) } })))
                .Prepend(() => api.P1.DeleteAsync($"/v2.0/networks/{Id(n)}"))
                .ToArray();
            var responses = await RaceAsync(requests);
            AssertClean(responses, HttpStatusCode.Created, HttpStatusCode.NoContent, HttpStatusCode.Conflict, HttpStatusCode.NotFound);

            var status = Str(await api.P1.ShowAsync("networks", Id(n), "network"), "status");
            var livePorts = await api.Db.ScalarAsync<long>(
                "select count(*) from ports where network_id = $1 and status <> 'PENDING_DELETE'", Guid.Parse(Id(n)));
            Assert.False(status == "PENDING_DELETE" && livePorts > 0, $"round {round}: network PENDING_DELETE with {livePorts} live ports");
            Assert.Equal(responses[0].Status == HttpStatusCode.NoContent, status == "PENDING_DELETE");
        }
    }

    [Fact]
    public async Task A_network_delete_racing_subnet_creates_never_leaves_a_live_subnet_on_a_deleted_network()
    {
        for (var round = 0; round < Rounds; round++)
        {
            var n = await api.P1.CreateNetworkAsync();
            var requests = Enumerable.Range(0, 6)
                .Select(i => (Func<Task<ApiResponse>>)(() => api.P1.PostAsync("/v2.0/subnets", new JsonObject
                {
                    ["subnet"] = new JsonObject { ["network_id"] = Id(n), ["cidr"] = $"10.{50 + i}.0.0/24", ["ip_version"] = 4 },
                })))
                .Prepend(() => api.P1.DeleteAsync($"/v2.0/networks/{Id(n)}"))
                .ToArray();
            var responses = await RaceAsync(requests);
            AssertClean(responses, HttpStatusCode.Created, HttpStatusCode.NoContent, HttpStatusCode.Conflict, HttpStatusCode.NotFound,
                HttpStatusCode.BadRequest);

            var status = Str(await api.P1.ShowAsync("networks", Id(n), "network"), "status");
            var liveSubnets = await api.Db.ScalarAsync<long>(
                "select count(*) from subnets where network_id = $1 and status <> 'PENDING_DELETE'", Guid.Parse(Id(n)));
            Assert.False(status == "PENDING_DELETE" && liveSubnets > 0, $"round {round}: network PENDING_DELETE with {liveSubnets} live subnets");
            // Every subnet of a deleted network has its own delete entry.
            if (status == "PENDING_DELETE")
            {
                var missing = await api.Db.ScalarAsync<long>(
                    """
                    select count(*) from subnets s where s.network_id = $1
                      and not exists (select 1 from outbox_entries e where e.resource_id = s.id and e.operation = 'delete')
                    """, Guid.Parse(Id(n)));
                Assert.Equal(0, missing);
            }
        }
    }

    [Fact]
    public async Task A_subnet_delete_racing_port_creates_never_leaves_an_address_in_a_deleted_subnet()
    {
        for (var round = 0; round < Rounds; round++)
        {
            var (n, s) = await api.P1.CreateNetworkWithSubnetAsync($"10.{100 + round}.0.0/24");
            var requests = Enumerable.Range(0, 8)
                .Select(_ => (Func<Task<ApiResponse>>)(() => api.P1.PostAsync("/v2.0/ports", new JsonObject
                {
                    ["port"] = new JsonObject
                    {
                        ["network_id"] = Id(n),
                        ["fixed_ips"] = new JsonArray(new JsonObject { ["subnet_id"] = Id(s) }),
                    },
                })))
                .Prepend(() => api.P1.DeleteAsync($"/v2.0/subnets/{Id(s)}"))
                .ToArray();
            var responses = await RaceAsync(requests);
            AssertClean(responses, HttpStatusCode.Created, HttpStatusCode.NoContent, HttpStatusCode.Conflict, HttpStatusCode.NotFound,
                HttpStatusCode.BadRequest);

            var status = Str(await api.P1.ShowAsync("subnets", Id(s), "subnet"), "status");
            var liveAddresses = await api.Db.ScalarAsync<long>(
                "select count(*) from ip_allocations a join ports p on p.id = a.port_id where a.subnet_id = $1 and p.status <> 'PENDING_DELETE'",
                Guid.Parse(Id(s)));
            Assert.False(status == "PENDING_DELETE" && liveAddresses > 0, $"round {round}: subnet PENDING_DELETE with {liveAddresses} live addresses");
        }
    }

    [Fact]
    public async Task A_router_delete_racing_interface_adds_never_leaves_a_live_interface_on_a_deleted_router()
    {
        for (var round = 0; round < Rounds; round++)
        {
            var subnets = new List<string>();
            for (var i = 0; i < 4; i++)
            {
                subnets.Add(Id((await api.P1.CreateNetworkWithSubnetAsync($"10.{150 + round}.{i}.0/24")).Subnet));
            }
            var r = await api.P1.CreateRouterAsync();
            var requests = subnets
                .Select(sid => (Func<Task<ApiResponse>>)(() =>
                    api.P1.PutAsync($"/v2.0/routers/{Id(r)}/add_router_interface", new JsonObject { ["subnet_id"] = sid })))
                .Prepend(() => api.P1.DeleteAsync($"/v2.0/routers/{Id(r)}"))
                .ToArray();
            var responses = await RaceAsync(requests);
            AssertClean(responses, HttpStatusCode.OK, HttpStatusCode.NoContent, HttpStatusCode.Conflict, HttpStatusCode.NotFound);

            var status = Str(await api.P1.ShowAsync("routers", Id(r), "router"), "status");
            var live = await api.Db.ScalarAsync<long>(
                "select count(*) from router_interfaces i join ports p on p.id = i.port_id where i.router_id = $1 and p.status <> 'PENDING_DELETE'",
                Guid.Parse(Id(r)));
            Assert.False(status == "PENDING_DELETE" && live > 0, $"round {round}: router PENDING_DELETE with {live} live interfaces");
        }
    }
}
