using static OutboxSync.Api.Tests.Infrastructure.Neutron;

namespace OutboxSync.Api.Tests.Accept;

/// <summary>Concurrent port creates on one subnet never share an address (the database constraint is the last guard).</summary>
public sealed class ConcurrentIpamTests(ApiFactory api) : IClassFixture<ApiFactory>
{
    private static async Task<ApiResponse[]> ConcurrentlyAsync(int count, Func<int, Task<ApiResponse>> request)
    {
        using var start = new ManualResetEventSlim(false);
        var tasks = Enumerable.Range(0, count).Select(i => Task.Run(async () =>
        {
            start.Wait(TimeSpan.FromSeconds(10));
            return await request(i);
        })).ToArray();
        start.Set();
        return await Task.WhenAll(tasks);
    }

    [Fact]
    public async Task One_hundred_concurrent_port_creates_on_one_subnet_all_get_distinct_addresses()
    {
        var (n, s) = await api.P1.CreateNetworkWithSubnetAsync("10.40.0.0/24");
        var responses = await ConcurrentlyAsync(100, i =>
            api.P1.PostAsync("/v2.0/ports", new JsonObject { ["port"] = new JsonObject { ["network_id"] = Id(n), ["name"] = $"c{i}" } }));

        var failed = responses.Where(r => r.Status != HttpStatusCode.Created).Select(r => $"{(int)r.Status} {r.Text}").ToList();
        Assert.True(failed.Count == 0, $"{failed.Count} of 100 creates failed, e.g. {failed.FirstOrDefault()}");
        var ports = responses.Select(r => r.Item("port")).ToList();
        var addresses = ports.Select(p => Str(p["fixed_ips"]![0]!, "ip_address")).ToList();
        Assert.Equal(100, addresses.Distinct().Count());
        Assert.All(addresses, a =>
        {
            Assert.StartsWith("10.40.0.", a);
            Assert.NotEqual("10.40.0.1", a);
            Assert.NotEqual("10.40.0.0", a);
            Assert.NotEqual("10.40.0.255", a);
        });
        Assert.Equal(100, ports.Select(p => Str(p, "mac_address")).Distinct().Count());
        Assert.Equal(100, await api.Db.ScalarAsync<long>("select count(distinct ip_address) from ip_allocations where subnet_id = $1", Guid.Parse(Id(s))));
        Assert.Equal(100, await api.Db.ScalarAsync<long>(
            "select count(*) from outbox_entries where resource_type = 'port' and operation = 'create' and resource_id = any($1)",
            ports.Select(p => Guid.Parse(Id(p))).ToArray()));
    }

    [Fact]
    public async Task Concurrent_creates_beyond_the_pool_fill_it_exactly_and_the_rest_get_409()
    {
        // A /28 has 14 hosts; the gateway takes one, so 13 ports fit.
        var (n, s) = await api.P1.CreateNetworkWithSubnetAsync("10.41.0.0/28");
        var responses = await ConcurrentlyAsync(30, _ =>
            api.P1.PostAsync("/v2.0/ports", new JsonObject { ["port"] = new JsonObject { ["network_id"] = Id(n) } }));

        var created = responses.Where(r => r.Status == HttpStatusCode.Created).ToList();
        var rejected = responses.Where(r => r.Status != HttpStatusCode.Created).ToList();
        Assert.Equal(13, created.Count);
        Assert.All(rejected, r => r.ExpectNeutronError(HttpStatusCode.Conflict, "IpAddressGenerationFailure"));
        Assert.Equal(13, created.Select(r => Str(r.Item("port")["fixed_ips"]![0]!, "ip_address")).Distinct().Count());
        Assert.Equal(13, await api.Db.ScalarAsync<long>("select count(*) from ip_allocations where subnet_id = $1", Guid.Parse(Id(s))));
        Assert.Equal(13, await api.Db.ScalarAsync<long>("select count(*) from ports where network_id = $1", Guid.Parse(Id(n))));
    }

    [Fact]
    public async Task Concurrent_requests_for_the_same_address_give_it_to_exactly_one_port()
    {
        var (n, s) = await api.P1.CreateNetworkWithSubnetAsync("10.42.0.0/24");
        var responses = await ConcurrentlyAsync(20, _ => api.P1.PostAsync("/v2.0/ports", new JsonObject
        {
            ["port"] = new JsonObject
            {
                ["network_id"] = Id(n),
                ["fixed_ips"] = new JsonArray(new JsonObject { ["subnet_id"] = Id(s), ["ip_address"] = "10.42.0.77" }),
            },
        }));
        Assert.Single(responses, r => r.Status == HttpStatusCode.Created);
        Assert.All(responses.Where(r => r.Status != HttpStatusCode.Created), r => r.ExpectNeutronError(HttpStatusCode.Conflict));
        Assert.Equal(1, await api.Db.ScalarAsync<long>("select count(*) from ports where network_id = $1", Guid.Parse(Id(n))));
    }

    [Fact]
    public async Task Concurrent_creates_on_two_subnets_of_one_network_stay_distinct_per_subnet()
    {
        var n = await api.P1.CreateNetworkAsync();
        var s1 = await api.P1.CreateSubnetAsync(Id(n), "10.43.0.0/24");
        var s2 = await api.P1.CreateSubnetAsync(Id(n), "10.44.0.0/24");
        var responses = await ConcurrentlyAsync(40, i => api.P1.PostAsync("/v2.0/ports", new JsonObject
        {
            ["port"] = new JsonObject
            {
                ["network_id"] = Id(n),
                ["fixed_ips"] = new JsonArray(new JsonObject { ["subnet_id"] = Id(i % 2 == 0 ? s1 : s2) }),
            },
        }));
        Assert.All(responses, r => r.Expect(HttpStatusCode.Created));
        var pairs = responses.Select(r => r.Item("port")["fixed_ips"]![0]!).Select(ip => (Str(ip, "subnet_id"), Str(ip, "ip_address"))).ToList();
        Assert.Equal(40, pairs.Distinct().Count());
        Assert.Equal(20, pairs.Count(p => p.Item1 == Id(s1)));
    }
}
