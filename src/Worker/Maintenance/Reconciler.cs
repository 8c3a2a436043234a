using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Npgsql;
using OutboxSync.Outbox;
using OutboxSync.Persistence;
using OutboxSync.Resources;
using OutboxSync.Worker.Backend;
using OutboxSync.Worker.Resilience;
using Polly;
using Polly.Registry;

namespace OutboxSync.Worker.Maintenance;

/// <summary>One difference between what the database says the back end holds and what it holds, and what was done about it.</summary>
/// <param name="BackEndParents">For an orphan: the parents its back-end attributes name (its delete goes before theirs).</param>
/// <param name="Fields">For attribute drift: the attributes that differ.</param>
/// <param name="Repair"><c>enqueued</c>, <c>skipped: why</c>, or null when repairs are off.</param>
/// <param name="RepairSeq">The outbox entry that carries the repair.</param>
/// <param name="BackEndRouter">For a router interface (<see cref="RouterInterface"/>, identified by its port id): the
/// router the back end attaches it to.</param>
public sealed record ReconciliationFinding(string Kind, string ResourceType, Guid Id, long? DatabaseRevision, long? BackEndRevision,
    IReadOnlyList<Guid>? BackEndParents = null, string? Repair = null, long? RepairSeq = null, IReadOnlyList<string>? Fields = null,
    Guid? BackEndRouter = null)
{
    public const string MissingAtBackEnd = "missing_at_back_end";
    public const string OrphanAtBackEnd = "orphan_at_back_end";
    public const string RevisionDrift = "revision_drift";
    public const string AttributeDrift = "attribute_drift";

    /// <summary>The resource type of findings about router interfaces; their id is the interface's port id.</summary>
    public const string RouterInterface = "router_interface";
}

/// <summary>
/// Compares every settled resource with the back end, both ways: confirmed here but absent there
/// (<c>missing_at_back_end</c>), present there but unknown here (<c>orphan_at_back_end</c>), and confirmed at a
/// different revision (<c>revision_drift</c>) or, for an ACTIVE resource at the same revision, with different
/// attributes than the state it would send now (<c>attribute_drift</c>). Router interfaces are compared the same
/// way, by port id, against the back end's interface listing (a port that is a router interface is compared only
/// as the interface: its changes are sent as the interface). Finding only: <see cref="ReconciliationRepair"/>
/// enqueues the repairs. Resources with pending entries, or whose entries finished after the run began, are
/// skipped as in motion.
/// </summary>
public sealed class Reconciler(BackendClient backend, NpgsqlDataSource dataSource, IServiceScopeFactory scopes,
    IOptions<ReconciliationOptions> options, ResiliencePipelineProvider<string> pipelines, TimeProvider time)
{
    // Listing a page is idempotent: a read the network failed is retried (WorkerPipelines.ReconciliationReads).
    private readonly ResiliencePipeline _pageReads = pipelines.GetPipeline(WorkerPipelines.ReconciliationReads);

    // Every row, with whether the resource was in motion during the run and whether it is a router interface (then it
    // is compared as the interface, and its absence from the port list is expected).
    private const string RowsSql = """
        select r.id, r.applied_revision,
               exists (select 1 from outbox_entries e where e.resource_id = r.id
                       and (e.state = 'pending' or e.completed_at >= @since)) as moving,
               {1} as interface_only,
               r.status = 'ACTIVE' and r.revision_number = r.applied_revision as settled
        from {0} r
        """;

    // Every router interface with the state a request would send now: its router, subnet and address there.
    private const string InterfaceRowsSql = """
        select i.port_id, i.router_id, i.subnet_id,
               (select a.ip_address from ip_allocations a
                where a.port_id = i.port_id and a.subnet_id = i.subnet_id order by a.ip_address limit 1),
               p.applied_revision,
               exists (select 1 from outbox_entries e where e.resource_id = i.port_id
                       and (e.state = 'pending' or e.completed_at >= @since)) as moving,
               p.status = 'ACTIVE' and p.revision_number = p.applied_revision as settled
        from router_interfaces i join ports p on p.id = i.port_id
        """;

    private const string MovingSql = """
        select distinct resource_id from outbox_entries where state = 'pending' or completed_at >= @since
        """;

    public async Task<(IReadOnlyList<ReconciliationFinding> Findings, Dictionary<string, int> Checked)> RunAsync(DateTimeOffset since, CancellationToken ct)
    {
        var findings = new List<ReconciliationFinding>();
        var checkedCounts = new Dictionary<string, int>();
        foreach (var type in ResourceType.All)
        {
            checkedCounts[type.Collection] = await CompareAsync(type, since, findings, ct);
        }
        checkedCounts[BackendClient.Interfaces] = await CompareInterfacesAsync(since, findings, ct);
        return (findings, checkedCounts);
    }

    /// <summary>Compares one collection both ways; returns how many objects it looked at.</summary>
    private async Task<int> CompareAsync(ResourceType type, DateTimeOffset since, List<ReconciliationFinding> findings, CancellationToken ct)
    {
        // Back end first, database second: anything that changed in between shows up as "moving" below.
        var remote = await ListAllAsync(type.Collection, ct);
        // Exactly the ports the interface pass compares (those with an interface row).
        var interfaceOnly = type == ResourceType.Port ? "exists (select 1 from router_interfaces i where i.port_id = r.id)" : "false";
        var local = new Dictionary<Guid, (long Applied, bool Moving, bool InterfaceOnly, bool Settled)>();
        await using (var cmd = dataSource.CreateCommand(string.Format(System.Globalization.CultureInfo.InvariantCulture, RowsSql, type.Table, interfaceOnly)))
        {
            cmd.Parameters.AddWithValue("since", since);
            await using var reader = await cmd.ExecuteReaderAsync(ct);
            while (await reader.ReadAsync(ct))
            {
                local[reader.GetGuid(0)] = (reader.GetInt64(1), reader.GetBoolean(2), reader.GetBoolean(3), reader.GetBoolean(4));
            }
        }
        var moving = await MovingAsync(since, ct);

        // Interface ports are compared as interfaces (CompareInterfacesAsync); one attached via port_id may also
        // exist here as a port object, at the revision it had before it became an interface.
        foreach (var (id, row) in local.Where(l => !l.Value.Moving && !l.Value.InterfaceOnly))
        {
            if (!remote.TryGetValue(id, out var remoteObject))
            {
                if (row.Applied > 0)
                {
                    findings.Add(new(ReconciliationFinding.MissingAtBackEnd, type.Name, id, row.Applied, null));
                }
            }
            else if (remoteObject.Revision != row.Applied)
            {
                findings.Add(new(ReconciliationFinding.RevisionDrift, type.Name, id, row.Applied, remoteObject.Revision));
            }
        }
        var comparable = local.Where(l => !l.Value.Moving && l.Value.Settled && !l.Value.InterfaceOnly
                && remote.TryGetValue(l.Key, out var r) && r.Revision == l.Value.Applied)
            .Select(l => l.Key).ToList();
        foreach (var (id, desired) in await RenderAsync(type, comparable, ct))
        {
            if (DifferingFields(desired, remote[id].Attributes) is { Count: > 0 } fields)
            {
                findings.Add(new(ReconciliationFinding.AttributeDrift, type.Name, id, local[id].Applied, remote[id].Revision, Fields: fields));
            }
        }
        foreach (var (id, remoteObject) in remote.Where(r => !local.ContainsKey(r.Key) && !moving.Contains(r.Key)))
        {
            findings.Add(new(ReconciliationFinding.OrphanAtBackEnd, type.Name, id, null, remoteObject.Revision, remoteObject.Parents));
        }
        return local.Count + remote.Count(r => !local.ContainsKey(r.Key));
    }

    /// <summary>
    /// Compares router interfaces both ways, by port id: an applied, settled interface absent at the back end
    /// (missing), attached there to another router, or with another subnet, address or port attribute (attribute
    /// drift), at another revision (revision drift), and an interface there that no port here is (orphan).
    /// </summary>
    private async Task<int> CompareInterfacesAsync(DateTimeOffset since, List<ReconciliationFinding> findings, CancellationToken ct)
    {
        var remote = await ListAllAsync(BackendClient.Interfaces, ct);
        var local = new Dictionary<Guid, (Guid Router, Guid Subnet, string? Address, long Applied, bool Moving, bool Settled)>();
        await using (var cmd = dataSource.CreateCommand(InterfaceRowsSql))
        {
            cmd.Parameters.AddWithValue("since", since);
            await using var reader = await cmd.ExecuteReaderAsync(ct);
            while (await reader.ReadAsync(ct))
            {
                local[reader.GetGuid(0)] = (reader.GetGuid(1), reader.GetGuid(2), reader.IsDBNull(3) ? null : reader.GetString(3),
                    reader.GetInt64(4), reader.GetBoolean(5), reader.GetBoolean(6));
            }
        }
        var moving = await MovingAsync(since, ct);
        const string type = ReconciliationFinding.RouterInterface;

        // An ERROR port (its attach failed) is the operator's to resync, so only settled interfaces count as missing.
        var comparable = new List<Guid>();
        foreach (var (port, row) in local.Where(l => !l.Value.Moving && l.Value.Settled && l.Value.Applied > 0))
        {
            if (!remote.TryGetValue(port, out var held))
            {
                findings.Add(new(ReconciliationFinding.MissingAtBackEnd, type, port, row.Applied, null));
            }
            else if (held.RouterId != row.Router)
            {
                findings.Add(new(ReconciliationFinding.AttributeDrift, type, port, row.Applied, held.Revision, held.Parents,
                    Fields: ["router_id"], BackEndRouter: held.RouterId));
            }
            else if (held.Revision != row.Applied)
            {
                findings.Add(new(ReconciliationFinding.RevisionDrift, type, port, row.Applied, held.Revision, BackEndRouter: held.RouterId));
            }
            else
            {
                comparable.Add(port);
            }
        }
        // The interface carries its port's attributes (name, description, …) beside its subnet and address.
        foreach (var (port, view) in await RenderAsync(ResourceType.Port, comparable, ct))
        {
            var (row, held) = (local[port], remote[port]);
            var fields = DifferingInterfaceFields(row.Subnet, row.Address, held.Attributes).Concat(DifferingFields(view, held.Attributes))
                .Order(StringComparer.Ordinal).ToList();
            if (fields.Count > 0)
            {
                findings.Add(new(ReconciliationFinding.AttributeDrift, type, port, row.Applied, held.Revision, Fields: fields, BackEndRouter: held.RouterId));
            }
        }
        foreach (var (port, held) in remote.Where(r => !local.ContainsKey(r.Key) && !moving.Contains(r.Key)))
        {
            findings.Add(new(ReconciliationFinding.OrphanAtBackEnd, type, port, null, held.Revision, held.Parents, BackEndRouter: held.RouterId));
        }
        return local.Count + remote.Count(r => !local.ContainsKey(r.Key));
    }

    private static List<string> DifferingInterfaceFields(Guid subnet, string? address, JsonObject? held)
    {
        static string? Text(JsonObject? o, string key) => o?[key] is JsonValue v && v.TryGetValue<string>(out var text) ? text : null;
        var fields = new List<string>();
        if (Text(held, "ip_address") != address)
        {
            fields.Add("ip_address");
        }
        if (Text(held, "subnet_id") != subnet.ToString())
        {
            fields.Add("subnet_id");
        }
        return fields;
    }

    private async Task<HashSet<Guid>> MovingAsync(DateTimeOffset since, CancellationToken ct)
    {
        var moving = new HashSet<Guid>();
        await using var cmd = dataSource.CreateCommand(MovingSql);
        cmd.Parameters.AddWithValue("since", since);
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
        {
            moving.Add(reader.GetGuid(0));
        }
        return moving;
    }

    // Not sent state, or state that changes without a new revision: status (the worker's own bookkeeping), a
    // network's subnet list (subnets come and go without touching the network) and an interface port's interface
    // fields (interfaces are compared through their ports).
    private static readonly HashSet<string> NotCompared = ["status", "status_reason", "subnets", "router_id", "subnet_id", "ip_address"];

    /// <summary>The attributes of the state we would send now that the back end holds differently (or not at all).</summary>
    public static IReadOnlyList<string> DifferingFields(JsonObject desired, JsonObject? actual) =>
        desired.Where(p => !NotCompared.Contains(p.Key)
                && (actual is null || !actual.TryGetPropertyValue(p.Key, out var held) || !JsonNode.DeepEquals(p.Value, held)))
            .Select(p => p.Key).Order(StringComparer.Ordinal).ToList();

    // The views a request at the current revision would have sent, rendered in batches of ids.
    private async Task<Dictionary<Guid, JsonObject>> RenderAsync(ResourceType type, List<Guid> ids, CancellationToken ct)
    {
        var views = new Dictionary<Guid, JsonObject>();
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<OutboxSyncDbContext>();
        foreach (var batch in ids.Chunk(500))
        {
            foreach (var resource in await ResourceRows.LoadAsync(db, type, batch, tracked: false, ct))
            {
                views[resource.Id] = resource switch
                {
                    // The subnet list is not compared (see NotCompared), so it is not loaded.
                    Network n => ResourceViews.Network(n, []),
                    Subnet s => ResourceViews.Subnet(s),
                    Port p => ResourceViews.Port(p),
                    Router r => ResourceViews.Router(r),
                    SecurityGroup g => ResourceViews.SecurityGroup(g),
                    SecurityGroupRule rule => ResourceViews.SecurityGroupRule(rule),
                    SubnetPool pool => ResourceViews.SubnetPool(pool),
                    _ => throw new InvalidOperationException($"No view for {resource.GetType().Name}"),
                };
            }
        }
        return views;
    }

    private async Task<Dictionary<Guid, BackendObject>> ListAllAsync(string collection, CancellationToken ct)
    {
        var all = new Dictionary<Guid, BackendObject>();
        string? marker = null;
        do
        {
            if (marker is not null && options.Value.PagePause > TimeSpan.Zero)
            {
                // The back end serves the drain too: a run reads at a bounded rate rather than in one burst.
                await Task.Delay(options.Value.PagePause, time, ct);
            }
            var page = marker;
            var (items, next) = await _pageReads.ExecuteAsync(
                async token => await backend.ListPageAsync(collection, options.Value.PageSize, page, token), ct);
            foreach (var item in items)
            {
                all[item.Id] = item;
            }
            marker = next;
        }
        while (marker is not null);
        return all;
    }
}
