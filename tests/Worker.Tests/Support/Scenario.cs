using System.Text.Json.Nodes;
using Microsoft.EntityFrameworkCore;
using Npgsql;
using NpgsqlTypes;
using OutboxSync.Outbox;
using OutboxSync.Persistence;
using OutboxSync.Resources;

namespace OutboxSync.Worker.Tests.Support;

/// <summary>
/// Writes resources and their outbox entries the way the API does (row change + entry in one transaction,
/// revision = revision_number after the change, payload = Neutron view, depends_on = parents), since the API is
/// not part of this branch.
/// </summary>
public sealed partial class Scenario(NpgsqlDataSource db)
{
    private int _macCounter;
    private int _cidrCounter;

    public NpgsqlDataSource Db => db;

    /// <summary>Statistics taken while nothing is pending, as autovacuum usually takes them, and kept: autovacuum is
    /// off for outbox_entries in this database, so none is taken behind the test's back.</summary>
    public async Task AnalyseOutboxAsDrainedAsync()
    {
        foreach (var sql in new[] { "alter table outbox_entries set (autovacuum_enabled = false)", "vacuum analyze outbox_entries", "vacuum analyze resource_leases" })
        {
            await using var cmd = db.CreateCommand(sql);
            await cmd.ExecuteNonQueryAsync();
        }
    }

    public async Task<Guid> CreateNetworkAsync(string name = "net", Guid? id = null)
    {
        var netId = id ?? Guid.NewGuid();
        await InTransactionAsync(async (conn, tx) =>
        {
            await ExecAsync(conn, tx, """
                insert into networks (id, project_id, name, status, revision_number, created_at, updated_at)
                values (@id, 'p1', @name, 'PENDING_CREATE', 1, now(), now())
                """, ("id", netId), ("name", name));
            await AppendAsync(conn, tx, "network", netId, "create", 1, await RenderAsync(conn, tx, "network", netId), []);
        });
        return netId;
    }

    public async Task<long> UpdateNetworkAsync(Guid netId, string name)
    {
        long seq = 0;
        await InTransactionAsync(async (conn, tx) =>
        {
            var rev = await ScalarAsync<long>(conn, tx, """
                update networks set name = @name, revision_number = revision_number + 1, updated_at = now(),
                    status = case when status = 'PENDING_CREATE' then status else 'PENDING_UPDATE' end
                where id = @id returning revision_number
                """, ("id", netId), ("name", name));
            seq = await AppendAsync(conn, tx, "network", netId, "update", rev, await RenderAsync(conn, tx, "network", netId), []);
        });
        return seq;
    }

    /// <summary>Network delete as the API does it: its subnets go PENDING_DELETE with their deletes first.</summary>
    public async Task<long> DeleteNetworkAsync(Guid netId)
    {
        long seq = 0;
        var subnets = new List<Guid>();
        await using (var cmd = db.CreateCommand("select id from subnets where network_id = @id and status <> 'PENDING_DELETE' order by created_at"))
        {
            cmd.Parameters.AddWithValue("id", netId);
            await using var r = await cmd.ExecuteReaderAsync();
            while (await r.ReadAsync())
            {
                subnets.Add(r.GetGuid(0));
            }
        }
        foreach (var s in subnets)
        {
            await DeleteAsync("subnet", "subnets", s, [netId]);
        }
        seq = await DeleteAsync("network", "networks", netId, []);
        return seq;
    }

    public async Task<Guid> CreateSubnetAsync(Guid netId, string name = "sub")
    {
        var id = Guid.NewGuid();
        var n = Interlocked.Increment(ref _cidrCounter);
        var cidr = $"10.{n / 250}.{n % 250}.0/24";
        await InTransactionAsync(async (conn, tx) =>
        {
            await ExecAsync(conn, tx, """
                insert into subnets (id, project_id, name, status, revision_number, created_at, updated_at, network_id, cidr, ip_version, gateway_ip)
                values (@id, 'p1', @name, 'PENDING_CREATE', 1, now(), now(), @net, @cidr, 4, @gw)
                """, ("id", id), ("name", name), ("net", netId), ("cidr", cidr), ("gw", cidr.Replace(".0/24", ".1", StringComparison.Ordinal)));
            await AppendAsync(conn, tx, "subnet", id, "create", 1, await RenderAsync(conn, tx, "subnet", id), [netId]);
        });
        return id;
    }

    public Task<long> DeleteSubnetAsync(Guid subnetId, Guid netId) => DeleteAsync("subnet", "subnets", subnetId, [netId]);

    public async Task<Guid> CreatePortAsync(Guid netId, Guid? subnetId = null, string name = "port")
    {
        var id = Guid.NewGuid();
        var mac = $"fa:16:3e:00:{Interlocked.Increment(ref _macCounter) / 256:x2}:{_macCounter % 256:x2}";
        await InTransactionAsync(async (conn, tx) =>
        {
            await ExecAsync(conn, tx, """
                insert into ports (id, project_id, name, status, revision_number, created_at, updated_at, network_id, mac_address)
                values (@id, 'p1', @name, 'PENDING_CREATE', 1, now(), now(), @net, @mac)
                """, ("id", id), ("name", name), ("net", netId), ("mac", mac));
            var deps = new List<Guid> { netId };
            if (subnetId is { } s)
            {
                var ip = $"10.0.{_macCounter / 250}.{(_macCounter % 250) + 2}";
                await ExecAsync(conn, tx, "insert into ip_allocations (subnet_id, ip_address, port_id) values (@s, @ip, @p)", ("s", s), ("ip", ip), ("p", id));
                deps.Add(s);
            }
            await AppendAsync(conn, tx, "port", id, "create", 1, await RenderAsync(conn, tx, "port", id), deps);
        });
        return id;
    }

    public async Task<long> UpdatePortAsync(Guid portId, Guid netId, string name)
    {
        long seq = 0;
        await InTransactionAsync(async (conn, tx) =>
        {
            var rev = await ScalarAsync<long>(conn, tx, """
                update ports set name = @name, revision_number = revision_number + 1, updated_at = now(),
                    status = case when status = 'PENDING_CREATE' then status else 'PENDING_UPDATE' end
                where id = @id returning revision_number
                """, ("id", portId), ("name", name));
            seq = await AppendAsync(conn, tx, "port", portId, "update", rev, await RenderAsync(conn, tx, "port", portId), await PortParentsAsync(conn, tx, portId, netId));
        });
        return seq;
    }

    public Task<long> DeletePortAsync(Guid portId, Guid netId) =>
        DeleteAsync("port", "ports", portId, (conn, tx) => PortParentsAsync(conn, tx, portId, netId));

    // As the API's ResourceSnapshots.PortParents: the network and the subnets of the port's addresses, so a subnet's
    // delete waits for this entry just as it does behind the API.
    private static async Task<Guid[]> PortParentsAsync(NpgsqlConnection conn, NpgsqlTransaction tx, Guid portId, Guid netId)
    {
        await using var cmd = new NpgsqlCommand("select array_agg(subnet_id order by subnet_id) from ip_allocations where port_id = @id", conn, tx);
        cmd.Parameters.AddWithValue("id", portId);
        var subnets = await cmd.ExecuteScalarAsync() as Guid[] ?? [];
        return [netId, .. subnets];
    }

    public async Task<Guid> CreateRouterAsync(string name = "router")
    {
        var id = Guid.NewGuid();
        await InTransactionAsync(async (conn, tx) =>
        {
            await ExecAsync(conn, tx, """
                insert into routers (id, project_id, name, status, revision_number, created_at, updated_at)
                values (@id, 'p1', @name, 'PENDING_CREATE', 1, now(), now())
                """, ("id", id), ("name", name));
            await AppendAsync(conn, tx, "router", id, "create", 1, await RenderAsync(conn, tx, "router", id), []);
        });
        return id;
    }

    /// <summary>
    /// Router interface on a subnet, as the API does it: a new port row (no port create entry; the back end only
    /// learns of it as the interface) and one add_interface entry on that port, depending on router, subnet, network.
    /// </summary>
    public async Task<Guid> AddRouterInterfaceAsync(Guid routerId, Guid subnetId, Guid netId)
    {
        var portId = Guid.NewGuid();
        var mac = $"fa:16:3e:01:{Interlocked.Increment(ref _macCounter) / 256:x2}:{_macCounter % 256:x2}";
        var ip = $"10.1.{_macCounter / 250}.{(_macCounter % 250) + 1}";
        await InTransactionAsync(async (conn, tx) =>
        {
            await ExecAsync(conn, tx, """
                insert into ports (id, project_id, name, status, revision_number, created_at, updated_at, network_id, mac_address, device_id, device_owner)
                values (@id, 'p1', '', 'PENDING_CREATE', 1, now(), now(), @net, @mac, @r, 'network:router_interface')
                """, ("id", portId), ("net", netId), ("mac", mac), ("r", routerId.ToString()));
            await ExecAsync(conn, tx, "insert into ip_allocations (subnet_id, ip_address, port_id) values (@s, @ip, @p)", ("s", subnetId), ("ip", ip), ("p", portId));
            await ExecAsync(conn, tx, "insert into router_interfaces (port_id, router_id, subnet_id) values (@p, @r, @s)", ("p", portId), ("r", routerId), ("s", subnetId));
            await AppendAsync(conn, tx, "port", portId, "add_interface", 1, await RenderAsync(conn, tx, "port", portId), [routerId, subnetId, netId]);
        });
        return portId;
    }

    /// <summary>
    /// Router interface on an existing port, as the API does it: the port (already at the back end as a port object)
    /// becomes the router's at a new revision, sent as one add_interface entry.
    /// </summary>
    public async Task AttachPortAsync(Guid routerId, Guid portId, Guid subnetId, Guid netId)
    {
        await InTransactionAsync(async (conn, tx) =>
        {
            var rev = await ScalarAsync<long>(conn, tx, """
                update ports set device_owner = 'network:router_interface', device_id = @r, revision_number = revision_number + 1,
                    updated_at = now(), status = 'PENDING_UPDATE'
                where id = @id returning revision_number
                """, ("id", portId), ("r", routerId.ToString()));
            await ExecAsync(conn, tx, "insert into router_interfaces (port_id, router_id, subnet_id) values (@p, @r, @s)", ("p", portId), ("r", routerId), ("s", subnetId));
            await AppendAsync(conn, tx, "port", portId, "add_interface", rev, await RenderAsync(conn, tx, "port", portId), [routerId, subnetId, netId]);
        });
    }

    public async Task<long> RemoveRouterInterfaceAsync(Guid routerId, Guid portId, Guid subnetId, Guid netId)
    {
        long seq = 0;
        await InTransactionAsync(async (conn, tx) =>
        {
            var rev = await ScalarAsync<long>(conn, tx,
                "update ports set status = 'PENDING_DELETE' where id = @id returning revision_number", ("id", portId));
            seq = await AppendAsync(conn, tx, "port", portId, "remove_interface", rev, new JsonObject
            {
                ["router_id"] = routerId.ToString(), ["subnet_id"] = subnetId.ToString(), ["port_id"] = portId.ToString(),
            }, [routerId, subnetId, netId]);
        });
        return seq;
    }

    /// <summary>Appends an entry with an arbitrary payload (for poisoned-entry tests).</summary>
    public async Task<long> AppendRawAsync(string type, Guid id, string operation, long revision, string payloadJson, Guid[] dependsOn)
    {
        long seq = 0;
        await InTransactionAsync(async (conn, tx) =>
        {
            seq = await ScalarAsync<long>(conn, tx, """
                insert into outbox_entries (resource_type, resource_id, operation, revision, payload, project_id, depends_on)
                values (@t, @id, @op, @rev, @payload::jsonb, 'p1', @deps) returning seq
                """, ("t", type), ("id", id), ("op", operation), ("rev", revision), ("payload", payloadJson), ("deps", dependsOn));
        });
        return seq;
    }

    // ---- reads ----

    public async Task<(string Status, string? Reason, long Revision, long Applied)?> ResourceAsync(string table, Guid id)
    {
        await using var cmd = db.CreateCommand($"select status, status_reason, revision_number, applied_revision from {table} where id = @id");
        cmd.Parameters.AddWithValue("id", id);
        await using var r = await cmd.ExecuteReaderAsync();
        return await r.ReadAsync() ? (r.GetString(0), r.IsDBNull(1) ? null : r.GetString(1), r.GetInt64(2), r.GetInt64(3)) : null;
    }

    public async Task<List<(long Seq, string Operation, string State, int Attempts, string? LastError, string? BlockedBy)>> EntriesAsync(Guid id)
    {
        await using var cmd = db.CreateCommand("select seq, operation, state, attempts, last_error, blocked_by from outbox_entries where resource_id = @id order by seq");
        cmd.Parameters.AddWithValue("id", id);
        var list = new List<(long, string, string, int, string?, string?)>();
        await using var r = await cmd.ExecuteReaderAsync();
        while (await r.ReadAsync())
        {
            list.Add((r.GetInt64(0), r.GetString(1), r.GetString(2), r.GetInt32(3), r.IsDBNull(4) ? null : r.GetString(4), r.IsDBNull(5) ? null : r.GetString(5)));
        }
        return list;
    }

    public async Task<long> PendingCountAsync()
    {
        await using var cmd = db.CreateCommand("select count(*) from outbox_entries where state = 'pending'");
        return (long)(await cmd.ExecuteScalarAsync())!;
    }

    public Task WaitUntilDrainedAsync(TimeSpan? timeout = null) =>
        Eventually.WaitAsync(PendingCountAsync, n => n == 0, timeout ?? TimeSpan.FromSeconds(60), "no pending outbox entries");

    // ---- plumbing ----

    private Task<long> DeleteAsync(string type, string table, Guid id, Guid[] deps) =>
        DeleteAsync(type, table, id, (_, _) => Task.FromResult(deps));

    /// <param name="deps">Read in the delete's transaction, as the API renders them in its own.</param>
    private async Task<long> DeleteAsync(string type, string table, Guid id, Func<NpgsqlConnection, NpgsqlTransaction, Task<Guid[]>> deps)
    {
        long seq = 0;
        await InTransactionAsync(async (conn, tx) =>
        {
            var rev = await ScalarAsync<long>(conn, tx, $"update {table} set status = 'PENDING_DELETE' where id = @id returning revision_number", ("id", id));
            seq = await AppendAsync(conn, tx, type, id, "delete", rev, new JsonObject { ["id"] = id.ToString() }, await deps(conn, tx));
        });
        return seq;
    }

    /// <summary>The payload the API would write: the product's own rendering of the rows just written, in this transaction.</summary>
    private static async Task<JsonObject> RenderAsync(NpgsqlConnection conn, NpgsqlTransaction tx, string type, Guid id)
    {
        await using var context = new OutboxSyncDbContext(new DbContextOptionsBuilder<OutboxSyncDbContext>().UseNpgsql(conn).Options);
        await context.Database.UseTransactionAsync(tx);
        var resource = (await ResourceRows.LoadAsync(context, ResourceType.FromName(type)!, [id], tracked: false, CancellationToken.None)).Single();
        return (await ResourceSnapshots.RenderAsync(context, resource, CancellationToken.None)).Snapshot;
    }

    private async Task InTransactionAsync(Func<NpgsqlConnection, NpgsqlTransaction, Task> work)
    {
        await using var conn = await db.OpenConnectionAsync();
        await using var tx = await conn.BeginTransactionAsync();
        await work(conn, tx);
        await tx.CommitAsync();
    }

    private static async Task<long> AppendAsync(NpgsqlConnection conn, NpgsqlTransaction tx, string type, Guid id, string op, long rev, JsonObject payload, IEnumerable<Guid> deps) =>
        await ScalarAsync<long>(conn, tx, """
            insert into outbox_entries (resource_type, resource_id, operation, revision, payload, project_id, depends_on)
            values (@t, @id, @op, @rev, @payload::jsonb, 'p1', @deps) returning seq
            """, ("t", type), ("id", id), ("op", op), ("rev", rev), ("payload", payload.ToJsonString()), ("deps", deps.ToArray()));

    private static async Task ExecAsync(NpgsqlConnection conn, NpgsqlTransaction tx, string sql, params (string, object)[] ps)
    {
        await using var cmd = Command(conn, tx, sql, ps);
        await cmd.ExecuteNonQueryAsync();
    }

    private static async Task<T> ScalarAsync<T>(NpgsqlConnection conn, NpgsqlTransaction tx, string sql, params (string, object)[] ps)
    {
        await using var cmd = Command(conn, tx, sql, ps);
        return (T)(await cmd.ExecuteScalarAsync())!;
    }

    private static NpgsqlCommand Command(NpgsqlConnection conn, NpgsqlTransaction tx, string sql, (string, object)[] ps)
    {
        var cmd = new NpgsqlCommand(sql, conn, tx);
        foreach (var (name, value) in ps)
        {
            if (value is Guid[] ids)
            {
                cmd.Parameters.Add(new NpgsqlParameter<Guid[]>(name, NpgsqlDbType.Array | NpgsqlDbType.Uuid) { TypedValue = ids });
            }
            else
            {
                cmd.Parameters.AddWithValue(name, value);
            }
        }
        return cmd;
    }
}
