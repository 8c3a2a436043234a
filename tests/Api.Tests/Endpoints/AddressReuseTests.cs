using Npgsql;
using static OutboxSync.Api.Tests.Infrastructure.Neutron;

namespace OutboxSync.Api.Tests.Endpoints;

/// <summary>
/// Neutron frees a deleted port's MAC and fixed IPs at once. The old port stays PENDING_DELETE until the back end
/// confirms; the addresses it gave up are recorded against it, so the drain sends a port that takes one after it.
/// </summary>
public sealed class AddressReuseTests(ApiFactory api) : IClassFixture<ApiFactory>
{
    private static JsonObject Port(string networkId, string? ip = null, string? subnetId = null, string? mac = null)
    {
        var body = new JsonObject { ["network_id"] = networkId };
        if (ip is not null)
        {
            body["fixed_ips"] = new JsonArray(new JsonObject { ["subnet_id"] = subnetId, ["ip_address"] = ip });
        }
        if (mac is not null)
        {
            body["mac_address"] = mac;
        }
        return new JsonObject { ["port"] = body };
    }

    private static string RandomMac() => $"fa:16:3e:{Random.Shared.Next(256):x2}:{Random.Shared.Next(256):x2}:{Random.Shared.Next(256):x2}";

    [Fact]
    public async Task A_deleted_ports_address_and_mac_may_be_taken_at_once_and_are_recorded_against_it()
    {
        var (n, s) = await api.P1.CreateNetworkWithSubnetAsync("10.80.0.0/24");
        var mac = RandomMac();
        var old = (await api.P1.PostAsync("/v2.0/ports", Port(Id(n), "10.80.0.50", Id(s), mac))).Expect(HttpStatusCode.Created).Item("port");
        (await api.P1.PostAsync("/v2.0/ports", Port(Id(n), "10.80.0.50", Id(s)))).ExpectNeutronError(HttpStatusCode.Conflict, "IpAddressAlreadyAllocated");
        (await api.P1.PostAsync("/v2.0/ports", Port(Id(n), mac: mac))).ExpectNeutronError(HttpStatusCode.Conflict, "MacAddressInUse");

        (await api.P1.DeleteAsync($"/v2.0/ports/{Id(old)}")).Expect(HttpStatusCode.NoContent);
        var deleting = await api.P1.ShowAsync("ports", Id(old), "port");
        Assert.Equal("PENDING_DELETE", Str(deleting, "status"));
        // The delete sent to the back end still names what the port held there.
        var delete = (await api.Db.OutboxForAsync(Id(old))).Single(e => e.Operation == "delete");
        Assert.Equal("10.80.0.50", Str(delete.Payload["fixed_ips"]![0]!, "ip_address"));
        Assert.Equal(mac, Str(delete.Payload, "mac_address"));

        var successor = (await api.P1.PostAsync("/v2.0/ports", Port(Id(n), "10.80.0.50", Id(s), mac))).Expect(HttpStatusCode.Created).Item("port");
        Assert.Equal(mac, Str(successor, "mac_address"));
        Assert.Equal("10.80.0.50", Str(successor["fixed_ips"]![0]!, "ip_address"));
        Assert.Equal(1, await api.Db.ScalarAsync<long>(
            "select count(*) from released_addresses where port_id = $1 and subnet_id = $2 and ip_address = '10.80.0.50'",
            Guid.Parse(Id(old)), Guid.Parse(Id(s))));

        // Only one live holder at a time: the MAC is taken again.
        (await api.P1.PostAsync("/v2.0/ports", Port(Id(n), mac: mac))).ExpectNeutronError(HttpStatusCode.Conflict, "MacAddressInUse");
    }

    [Fact]
    public async Task A_subnet_whose_last_port_is_being_deleted_may_be_deleted_and_ips_freed_by_an_update_are_recorded()
    {
        var (n, s) = await api.P1.CreateNetworkWithSubnetAsync("10.81.0.0/24");
        var moved = (await api.P1.PostAsync("/v2.0/ports", Port(Id(n), "10.81.0.7", Id(s)))).Expect(HttpStatusCode.Created).Item("port");
        (await api.P1.PutAsync($"/v2.0/ports/{Id(moved)}", new JsonObject
        {
            ["port"] = new JsonObject { ["fixed_ips"] = new JsonArray(new JsonObject { ["subnet_id"] = Id(s), ["ip_address"] = "10.81.0.8" }) },
        })).Expect(HttpStatusCode.OK);
        Assert.Equal(1, await api.Db.ScalarAsync<long>(
            "select count(*) from released_addresses where port_id = $1 and ip_address = '10.81.0.7'", Guid.Parse(Id(moved))));
        (await api.P1.PostAsync("/v2.0/ports", Port(Id(n), "10.81.0.7", Id(s)))).Expect(HttpStatusCode.Created);

        var (n2, s2) = await api.P1.CreateNetworkWithSubnetAsync("10.82.0.0/24");
        var last = await api.P1.CreatePortAsync(Id(n2));
        (await api.P1.DeleteAsync($"/v2.0/subnets/{Id(s2)}")).ExpectNeutronError(HttpStatusCode.Conflict, "SubnetInUse");
        (await api.P1.DeleteAsync($"/v2.0/ports/{Id(last)}")).Expect(HttpStatusCode.NoContent);
        (await api.P1.DeleteAsync($"/v2.0/subnets/{Id(s2)}")).Expect(HttpStatusCode.NoContent);
        // The subnet's delete still waits at the back end for the port's: its entry names the subnet.
        var portDelete = (await api.Db.OutboxForAsync(Id(last))).Single(e => e.Operation == "delete");
        var subnetDelete = (await api.Db.OutboxForAsync(Id(s2))).Single(e => e.Operation == "delete");
        Assert.True(portDelete.Seq < subnetDelete.Seq);
        Assert.Contains(Guid.Parse(Id(s2)), await DependsOnAsync(portDelete.Seq));
    }

    [Fact]
    public async Task Released_addresses_go_with_the_port_row_when_the_back_end_confirmed_its_delete()
    {
        var (n, s) = await api.P1.CreateNetworkWithSubnetAsync("10.83.0.0/24");
        var old = (await api.P1.PostAsync("/v2.0/ports", Port(Id(n), "10.83.0.9", Id(s)))).Expect(HttpStatusCode.Created).Item("port");
        (await api.P1.DeleteAsync($"/v2.0/ports/{Id(old)}")).Expect(HttpStatusCode.NoContent);

        // What the worker does once the back end confirmed the delete.
        await api.Db.ExecuteAsync("delete from ports where id = $1", Guid.Parse(Id(old)));

        Assert.Equal(0, await api.Db.ScalarAsync<long>("select count(*) from released_addresses where port_id = $1", Guid.Parse(Id(old))));
    }

    private async Task<Guid[]> DependsOnAsync(long seq)
    {
        await using var command = api.Db.DataSource.CreateCommand("select depends_on from outbox_entries where seq = $1");
        command.Parameters.Add(new NpgsqlParameter<long> { TypedValue = seq });
        return (Guid[])(await command.ExecuteScalarAsync())!;
    }
}
