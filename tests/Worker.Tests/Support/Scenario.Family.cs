using System.Text.Json.Nodes;
using Npgsql;

namespace OutboxSync.Worker.Tests.Support;

/// <summary>
/// The rest of the API's write shapes, as its endpoints render them: updates of subnets and routers, router
/// deletes, port changes and deletes whose depends_on is the port's network plus every subnet it has (or, for a
/// change, had) an address on (PortsEndpoints), interfaces made from an existing port, and renames of interface ports (sent as
/// the interface at the new revision).
/// </summary>
public sealed partial class Scenario
{
    private const string BumpStatus = "case when applied_revision = 0 then 'PENDING_CREATE' else 'PENDING_UPDATE' end";

    public async Task<long> UpdateSubnetAsync(Guid subnetId, string name)
    {
        long seq = 0;
        await InTransactionAsync(async (conn, tx) =>
        {
            var row = await RowAsync(conn, tx, $"""
                update subnets set name = @name, revision_number = revision_number + 1, updated_at = now(), status = {BumpStatus}
                where id = @id returning revision_number, network_id, cidr, gateway_ip
                """, ("id", subnetId), ("name", name));
            var (rev, net) = ((long)row[0], (Guid)row[1]);
            seq = await AppendAsync(conn, tx, "subnet", subnetId, "update", rev, new JsonObject
            {
                ["id"] = subnetId.ToString(), ["name"] = name, ["project_id"] = "p1", ["network_id"] = net.ToString(),
                ["cidr"] = (string)row[2], ["ip_version"] = 4, ["gateway_ip"] = (string)row[3],
                ["allocation_pools"] = new JsonArray(), ["revision_number"] = rev,
            }, [net]);
        });
        return seq;
    }

    public async Task<long> UpdateRouterAsync(Guid routerId, string name)
    {
        long seq = 0;
        await InTransactionAsync(async (conn, tx) =>
        {
            var rev = await ScalarAsync<long>(conn, tx, $"""
                update routers set name = @name, revision_number = revision_number + 1, updated_at = now(), status = {BumpStatus}
                where id = @id returning revision_number
                """, ("id", routerId), ("name", name));
            seq = await AppendAsync(conn, tx, "router", routerId, "update", rev, new JsonObject
            {
                ["id"] = routerId.ToString(), ["name"] = name, ["project_id"] = "p1", ["revision_number"] = rev,
            }, []);
        });
        return seq;
    }

    public Task<long> DeleteRouterAsync(Guid routerId) => DeleteAsync("router", "routers", routerId, []);

    /// <summary>
    /// A port PUT. <paramref name="fixedIpSubnets"/> null keeps the addresses (no fixed_ips in the body); otherwise
    /// they are replaced by one address on each subnet given. An interface port's change goes out as the interface.
    /// </summary>
    public async Task<long> ChangePortAsync(Guid portId, string name, Guid[]? fixedIpSubnets = null)
    {
        long seq = 0;
        await InTransactionAsync(async (conn, tx) =>
        {
            var former = (await ReadPortAsync(conn, tx, portId)).Parents;
            if (fixedIpSubnets is not null)
            {
                await ExecAsync(conn, tx, "delete from ip_allocations where port_id = @p", ("p", portId));
                foreach (var subnet in fixedIpSubnets)
                {
                    await ExecAsync(conn, tx, "insert into ip_allocations (subnet_id, ip_address, port_id) values (@s, @ip, @p)",
                        ("s", subnet), ("ip", NextIp()), ("p", portId));
                }
            }
            var row = await RowAsync(conn, tx, $"""
                update ports set name = @name, revision_number = revision_number + 1, updated_at = now(), status = {BumpStatus}
                where id = @id returning revision_number
                """, ("id", portId), ("name", name));
            var port = await ReadPortAsync(conn, tx, portId);
            seq = port.Interface is { } iface
                ? await AppendAsync(conn, tx, "port", portId, "add_interface", (long)row[0], InterfaceSnapshot(port, iface.Router, iface.Subnet),
                    [iface.Router, iface.Subnet, port.Network])
                : await AppendAsync(conn, tx, "port", portId, "update", (long)row[0], PortView(port), port.Parents.Union(former));
        });
        return seq;
    }

    /// <summary>Port delete as the API does it: depends on the network and every subnet the port has an address on.</summary>
    public async Task<long> DeletePortAsync(Guid portId)
    {
        long seq = 0;
        await InTransactionAsync(async (conn, tx) =>
        {
            await ExecAsync(conn, tx, "update ports set status = 'PENDING_DELETE' where id = @id", ("id", portId));
            var port = await ReadPortAsync(conn, tx, portId);
            seq = await AppendAsync(conn, tx, "port", portId, "delete", port.Revision, PortView(port), port.Parents);
        });
        return seq;
    }

    /// <summary>add_router_interface with port_id: the port (one address) becomes the interface at its next revision.</summary>
    public async Task<Guid> AddRouterInterfaceByPortAsync(Guid routerId, Guid portId)
    {
        var subnet = Guid.Empty;
        await InTransactionAsync(async (conn, tx) =>
        {
            await ExecAsync(conn, tx, $"""
                update ports set device_id = @r, device_owner = 'network:router_interface', revision_number = revision_number + 1,
                    updated_at = now(), status = {BumpStatus}
                where id = @id
                """, ("id", portId), ("r", routerId.ToString()));
            var port = await ReadPortAsync(conn, tx, portId);
            subnet = port.FixedIps.Single().Subnet;
            await ExecAsync(conn, tx, "insert into router_interfaces (port_id, router_id, subnet_id) values (@p, @r, @s)",
                ("p", portId), ("r", routerId), ("s", subnet));
            await AppendAsync(conn, tx, "port", portId, "add_interface", port.Revision, InterfaceSnapshot(port, routerId, subnet),
                [routerId, subnet, port.Network]);
        });
        return subnet;
    }

    private sealed record PortRow(Guid Id, string Name, long Revision, Guid Network, string Mac, string DeviceId, string DeviceOwner,
        List<(Guid Subnet, string Ip)> FixedIps, (Guid Router, Guid Subnet)? Interface)
    {
        public Guid[] Parents => FixedIps.Select(f => f.Subnet).Prepend(Network).Distinct().ToArray();
    }

    private static async Task<PortRow> ReadPortAsync(NpgsqlConnection conn, NpgsqlTransaction tx, Guid portId)
    {
        var row = await RowAsync(conn, tx, """
            select name, revision_number, network_id, mac_address, device_id, device_owner,
                   (select router_id from router_interfaces where port_id = p.id), (select subnet_id from router_interfaces where port_id = p.id)
            from ports p where id = @id
            """, ("id", portId));
        var fixedIps = new List<(Guid, string)>();
        await using (var cmd = Command(conn, tx, "select subnet_id, ip_address from ip_allocations where port_id = @id order by subnet_id, ip_address", [("id", portId)]))
        await using (var r = await cmd.ExecuteReaderAsync())
        {
            while (await r.ReadAsync())
            {
                fixedIps.Add((r.GetGuid(0), r.GetString(1)));
            }
        }
        (Guid, Guid)? iface = row[6] is Guid router ? (router, (Guid)row[7]) : null;
        return new PortRow(portId, (string)row[0], (long)row[1], (Guid)row[2], (string)row[3], (string)row[4], (string)row[5], fixedIps, iface);
    }

    private static JsonObject PortView(PortRow port) => new()
    {
        ["id"] = port.Id.ToString(), ["name"] = port.Name, ["project_id"] = "p1", ["network_id"] = port.Network.ToString(),
        ["mac_address"] = port.Mac,
        ["fixed_ips"] = new JsonArray(port.FixedIps.Select(f => (JsonNode)new JsonObject { ["subnet_id"] = f.Subnet.ToString(), ["ip_address"] = f.Ip }).ToArray()),
        ["device_id"] = port.DeviceId, ["device_owner"] = port.DeviceOwner, ["revision_number"] = port.Revision,
    };

    private static JsonObject InterfaceSnapshot(PortRow port, Guid router, Guid subnet)
    {
        var view = PortView(port);
        view["router_id"] = router.ToString();
        view["subnet_id"] = subnet.ToString();
        view["ip_address"] = port.FixedIps.FirstOrDefault(f => f.Subnet == subnet).Ip;
        return view;
    }

    private string NextIp()
    {
        var n = Interlocked.Increment(ref _macCounter);
        return $"10.2.{n / 250}.{(n % 250) + 2}";
    }

    private static async Task<object[]> RowAsync(NpgsqlConnection conn, NpgsqlTransaction tx, string sql, params (string, object)[] ps)
    {
        await using var cmd = Command(conn, tx, sql, ps);
        await using var r = await cmd.ExecuteReaderAsync();
        if (!await r.ReadAsync())
        {
            throw new InvalidOperationException($"No row for: {sql}");
        }
        var values = new object[r.FieldCount];
        r.GetValues(values);
        return values;
    }
}
