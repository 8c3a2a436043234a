using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using OutboxSync.Hosting;
using static OutboxSync.Api.Tests.Infrastructure.Neutron;

namespace OutboxSync.Api.Tests.Endpoints;

/// <summary>
/// IPAM in pools larger than <see cref="Ipam.IpAllocator.ExactSearchLimit"/>: random samples checked against the
/// allocations, so concurrent creates on one network (Nova booting many VMs) do not collide, and a nearly full pool
/// still hands out its last addresses. Runs alone: it counts accept retries on the process-wide Meter.
/// </summary>
[Collection(SerialCollection.Name)]
public sealed class LargeSubnetAllocationTests(ApiFactory api) : IClassFixture<ApiFactory>, IDisposable
{
    private readonly ConcurrentQueue<string?> _retries = new();
    private MeterListener? _listener;

    private void CountRetries()
    {
        _listener = new MeterListener
        {
            InstrumentPublished = (instrument, listener) =>
            {
                if (instrument.Meter.Name == Telemetry.Name && instrument.Name == "outboxsync.api.accept_retries")
                {
                    listener.EnableMeasurementEvents(instrument);
                }
            },
        };
        _listener.SetMeasurementEventCallback<long>((_, _, tags, _) =>
        {
            foreach (var tag in tags)
            {
                if (tag.Key == "constraint")
                {
                    _retries.Enqueue(tag.Value as string);
                }
            }
        });
        _listener.Start();
    }

    public void Dispose() => _listener?.Dispose();

    [Fact]
    public async Task After_a_subnets_pools_change_new_ports_get_addresses_from_the_new_pools_only()
    {
        // The first creates teach this API process the subnet (it then sends IPAM's first probe with the locks, drawn
        // from the pools it saw); the change must void that hint, not hand out addresses from the old pools.
        var (n, s) = await api.P1.CreateNetworkWithSubnetAsync("10.61.0.0/16");
        for (var i = 0; i < 3; i++)
        {
            await api.P1.CreatePortAsync(Id(n));
        }
        (await api.P1.PutAsync($"/v2.0/subnets/{Id(s)}", new JsonObject
        {
            ["subnet"] = new JsonObject { ["allocation_pools"] = new JsonArray(new JsonObject { ["start"] = "10.61.7.0", ["end"] = "10.61.8.255" }) },
        })).Expect(HttpStatusCode.OK);

        var ports = new List<JsonObject>();
        for (var i = 0; i < 24; i++)
        {
            ports.Add(await api.P1.CreatePortAsync(Id(n)));
        }

        Assert.All(ports.Select(p => Str(p["fixed_ips"]![0]!, "ip_address")), address =>
            Assert.Matches(@"^10\.61\.[78]\.\d+$", address));
    }

    [Fact]
    public async Task Sixty_four_concurrent_port_creates_on_one_slash_16_get_distinct_addresses_almost_without_retries()
    {
        var (n, s) = await api.P1.CreateNetworkWithSubnetAsync("10.60.0.0/16");
        CountRetries();

        var ports = await Task.WhenAll(Enumerable.Range(0, 64).Select(_ => api.P1.CreatePortAsync(Id(n))));

        var addresses = ports.Select(p => Str(p["fixed_ips"]![0]!, "ip_address")).ToList();
        Assert.Equal(64, addresses.Distinct().Count());
        Assert.All(ports, p => Assert.Equal(Id(s), Str(p["fixed_ips"]![0]!, "subnet_id")));
        // Picking among the 16 lowest free addresses retried most of these; random samples over 65,533 addresses
        // collide about once in 30 such bursts.
        Assert.True(_retries.Count(c => c == "ip_allocations_pkey") <= 2, $"{_retries.Count} retries");
    }

    [Fact]
    public async Task A_pool_with_four_thousand_ports_and_ninety_free_addresses_hands_out_free_ones_until_none_is_left()
    {
        var (n, s) = await api.P1.CreateNetworkWithSubnetAsync("10.61.0.0/20"); // pool 10.61.0.2 – 10.61.15.254: 4,093
        await using (var fill = api.Db.DataSource.CreateCommand($"""
            with src as (select gen_random_uuid() as id, i from generate_series(0, 3999) i),
            port_rows as (
                insert into ports (id, project_id, status, created_at, updated_at, network_id, mac_address)
                select id, 'project1', 'ACTIVE', now(), now(), '{Id(n)}',
                       'fa:16:3f:' || substr(lpad(to_hex(i), 6, '0'), 1, 2) || ':' || substr(lpad(to_hex(i), 6, '0'), 3, 2)
                       || ':' || substr(lpad(to_hex(i), 6, '0'), 5, 2)
                from src)
            insert into ip_allocations (subnet_id, ip_address, port_id)
            select '{Id(s)}', host('10.61.0.2'::inet + i), id from src
            """))
        {
            await fill.ExecuteNonQueryAsync();
        }

        var given = new List<string>();
        for (var i = 0; i < 93; i++)
        {
            var port = await api.P1.CreatePortAsync(Id(n));
            given.Add(Str(port["fixed_ips"]![0]!, "ip_address"));
        }

        var expected = Enumerable.Range(4002, 93).Select(k => $"10.61.{k / 256}.{k % 256}").ToHashSet();
        Assert.Equal(expected, given.ToHashSet());
        (await api.P1.PostAsync("/v2.0/ports", new JsonObject { ["port"] = new JsonObject { ["network_id"] = Id(n) } }))
            .ExpectNeutronError(HttpStatusCode.Conflict, "IpAddressGenerationFailure");
    }
}
