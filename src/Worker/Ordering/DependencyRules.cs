using Npgsql;
using NpgsqlTypes;
using OutboxSync.Outbox;

namespace OutboxSync.Worker.Ordering;

/// <summary>Whether a step may go now.</summary>
public abstract record DependencyVerdict
{
    public sealed record Clear : DependencyVerdict;

    /// <summary>Wait for <paramref name="Blocker"/> (its entry <paramref name="BlockerSeq"/>) without spending attempts.</summary>
    public sealed record Blocked(Guid Blocker, long BlockerSeq, string Why) : DependencyVerdict;

    /// <summary>A parent will never exist at the back end: the child fails, naming it.</summary>
    public sealed record ParentFailed(Guid Parent, string ParentType, string Reason) : DependencyVerdict;
}

/// <summary>
/// Parents before children, children's deletes before parents' deletes. depends_on is fixed by the API at insert;
/// these rules read the other resources' live entries, so they need no lease on them.
/// </summary>
public sealed class DependencyRules(NpgsqlDataSource dataSource)
{
    // A child's create/update/add_interface waits while any parent it names has a pending create older than it.
    private const string PendingParentCreateSql = """
        select resource_id, seq, resource_type from outbox_entries
        where state = 'pending' and operation = 'create' and resource_id = any(@deps) and seq < @seq
        order by seq limit 1
        """;

    // A parent whose create failed and which the back end never confirmed will never exist: its children fail.
    private const string FailedParentSql = """
        select id, resource_type, coalesce(status_reason, 'no reason recorded') from resources
        where id = any(@deps) and status = 'ERROR' and applied_revision = 0
        limit 1
        """;

    // A port that holds an address or MAC another port gave up (deleted, or moved off by an update) goes after that
    // port's entries older than its own: the back end must never hold two ports with one address. The API keeps the
    // giving-up port in released_addresses (and its MAC with released_at) until the back end confirmed its delete.
    // "Older than the step's oldest entry" keeps every wait pointing back in seq order, so two ports that swap
    // addresses cannot wait for each other.
    private const string AddressPredecessorSql = """
        select e.resource_id, e.seq, e.resource_type from outbox_entries e
        where e.state = 'pending' and e.seq < @seq and e.resource_id <> @self
          and e.resource_id in (
              select r.port_id from released_addresses r
              join unnest(@subnets::uuid[], @ips::text[]) a (subnet_id, ip_address) using (subnet_id, ip_address)
              union all
              select p.id from ports p where p.mac_address = @mac and p.released_at is not null)
        order by e.seq limit 1
        """;

    // A parent's delete waits while any older pending entry names it as a parent (the children's deletes, or
    // anything else of theirs still to be sent). The GIN index on depends_on serves this.
    private const string PendingChildSql = """
        select resource_id, seq, resource_type from outbox_entries
        where state = 'pending' and depends_on @> array[@id]::uuid[] and seq < @seq
        order by seq limit 1
        """;

    public async Task<DependencyVerdict> CheckAsync(DrainStep step, CancellationToken ct = default)
    {
        switch (step)
        {
            case DrainStep.Cancel cancel:
                return await CheckDeleteAsync(cancel.Delete, ct);
            case DrainStep.Send { Operation: OutboxOperation.Delete or OutboxOperation.RemoveInterface } send:
                return await CheckDeleteAsync(send.Entry, ct);
            case DrainStep.Send send:
                var deps = send.All.SelectMany(e => e.DependsOn).Where(d => d != send.Entry.ResourceId).Distinct().ToArray();
                var addresses = send.Entry.ResourceType == "port" && send.Operation is OutboxOperation.Create or OutboxOperation.Update
                    ? PortAddresses.From(send.Entry.Payload, send.AllSeqs.Min()) : null;
                return deps.Length == 0 && addresses is null ? new DependencyVerdict.Clear() : await CheckParentsAsync(send.Entry, deps, addresses, ct);
            default:
                return new DependencyVerdict.Clear();
        }
    }

    private async Task<DependencyVerdict> CheckParentsAsync(PendingEntry entry, Guid[] deps, PortAddresses? addresses, CancellationToken ct)
    {
        // One round trip: the parents' two checks and, for a port, its addresses' predecessors.
        await using var batch = dataSource.CreateBatch();
        var pendingCreate = new NpgsqlBatchCommand(PendingParentCreateSql);
        pendingCreate.Parameters.Add(Uuids("deps", deps));
        pendingCreate.Parameters.AddWithValue("seq", entry.Seq);
        batch.BatchCommands.Add(pendingCreate);
        var failed = new NpgsqlBatchCommand(FailedParentSql);
        failed.Parameters.Add(Uuids("deps", deps));
        batch.BatchCommands.Add(failed);
        if (addresses is not null)
        {
            var predecessor = new NpgsqlBatchCommand(AddressPredecessorSql);
            predecessor.Parameters.AddWithValue("seq", addresses.OldestSeq);
            predecessor.Parameters.AddWithValue("self", entry.ResourceId);
            predecessor.Parameters.Add(Uuids("subnets", addresses.Subnets));
            predecessor.Parameters.Add(new NpgsqlParameter<string[]>("ips", NpgsqlDbType.Array | NpgsqlDbType.Text) { TypedValue = addresses.Ips });
            predecessor.Parameters.Add(new NpgsqlParameter<string>("mac", NpgsqlDbType.Text) { TypedValue = addresses.Mac });
            batch.BatchCommands.Add(predecessor);
        }

        await using var reader = await batch.ExecuteReaderAsync(ct);
        if (await reader.ReadAsync(ct))
        {
            var (parent, seq, type) = (reader.GetGuid(0), reader.GetInt64(1), reader.GetString(2));
            return new DependencyVerdict.Blocked(parent, seq, $"waiting for {type} {parent} create (seq {seq})");
        }
        await reader.NextResultAsync(ct);
        if (await reader.ReadAsync(ct))
        {
            var (parent, type, reason) = (reader.GetGuid(0), reader.GetString(1), reader.GetString(2));
            return new DependencyVerdict.ParentFailed(parent, type, $"parent {type} {parent} failed: {reason}");
        }
        if (addresses is not null)
        {
            await reader.NextResultAsync(ct);
            if (await reader.ReadAsync(ct))
            {
                var (holder, seq, type) = (reader.GetGuid(0), reader.GetInt64(1), reader.GetString(2));
                return new DependencyVerdict.Blocked(holder, seq, $"waiting for {type} {holder} to give up an address this port takes (seq {seq})");
            }
        }
        return new DependencyVerdict.Clear();
    }

    /// <summary>The addresses and MAC a port's payload holds, and the oldest seq of the step sending it.</summary>
    private sealed record PortAddresses(Guid[] Subnets, string[] Ips, string Mac, long OldestSeq)
    {
        public static PortAddresses? From(string payload, long oldestSeq)
        {
            try
            {
                using var doc = System.Text.Json.JsonDocument.Parse(payload);
                var root = doc.RootElement;
                if (root.ValueKind != System.Text.Json.JsonValueKind.Object)
                {
                    return null;
                }
                var mac = root.TryGetProperty("mac_address", out var m) && m.ValueKind == System.Text.Json.JsonValueKind.String ? m.GetString()! : "";
                var (subnets, ips) = (new List<Guid>(), new List<string>());
                if (root.TryGetProperty("fixed_ips", out var fixedIps) && fixedIps.ValueKind == System.Text.Json.JsonValueKind.Array)
                {
                    foreach (var ip in fixedIps.EnumerateArray())
                    {
                        if (ip.ValueKind == System.Text.Json.JsonValueKind.Object && PendingEntry.TryGuid(ip, "subnet_id", out var subnet)
                            && ip.TryGetProperty("ip_address", out var address) && address.ValueKind == System.Text.Json.JsonValueKind.String)
                        {
                            subnets.Add(subnet);
                            ips.Add(address.GetString()!);
                        }
                    }
                }
                return new PortAddresses([.. subnets], [.. ips], mac, oldestSeq);
            }
            catch (System.Text.Json.JsonException)
            {
                return null;
            }
        }
    }

    private async Task<DependencyVerdict> CheckDeleteAsync(PendingEntry delete, CancellationToken ct)
    {
        await using var cmd = dataSource.CreateCommand(PendingChildSql);
        cmd.Parameters.AddWithValue("id", delete.ResourceId);
        cmd.Parameters.AddWithValue("seq", delete.Seq);
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        if (await reader.ReadAsync(ct))
        {
            var (child, seq, type) = (reader.GetGuid(0), reader.GetInt64(1), reader.GetString(2));
            return new DependencyVerdict.Blocked(child, seq, $"waiting for child {type} {child} (seq {seq})");
        }
        return new DependencyVerdict.Clear();
    }

    private static NpgsqlParameter<Guid[]> Uuids(string name, Guid[] ids) =>
        new(name, NpgsqlDbType.Array | NpgsqlDbType.Uuid) { TypedValue = ids };
}
