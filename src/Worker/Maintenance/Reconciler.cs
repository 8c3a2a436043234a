using Microsoft.Extensions.Options;
using Npgsql;
using OutboxSync.Resources;
using OutboxSync.Worker.Backend;

namespace OutboxSync.Worker.Maintenance;

/// <summary>One difference between what the database says the back end holds and what it holds, and what was done about it.</summary>
/// <param name="BackEndParents">For an orphan: the parents its back-end attributes name (its delete goes before theirs).</param>
/// <param name="Repair"><c>enqueued</c>, <c>skipped: why</c>, or null when repairs are off.</param>
/// <param name="RepairSeq">The outbox entry that carries the repair.</param>
public sealed record ReconciliationFinding(string Kind, string ResourceType, Guid Id, long? DatabaseRevision, long? BackEndRevision,
    IReadOnlyList<Guid>? BackEndParents = null, string? Repair = null, long? RepairSeq = null)
{
    public const string MissingAtBackEnd = "missing_at_back_end";
    public const string OrphanAtBackEnd = "orphan_at_back_end";
    public const string RevisionDrift = "revision_drift";
}

/// <summary>
/// Compares every settled resource with the back end, both ways: confirmed here but absent there
/// (<c>missing_at_back_end</c>), present there but unknown here (<c>orphan_at_back_end</c>), and confirmed at a
/// different revision (<c>revision_drift</c>). Finding only: <see cref="ReconciliationRepair"/> enqueues the repairs.
/// Resources with pending entries, or whose entries finished after the run began, are skipped as in motion.
/// </summary>
public sealed class Reconciler(BackendClient backend, NpgsqlDataSource dataSource, IOptions<ReconciliationOptions> options, TimeProvider time)
{
    // Every row, with whether the resource was in motion during the run and whether the back end may hold it
    // only as a router interface (then its absence from the port list is expected).
    private const string RowsSql = """
        select r.id, r.applied_revision,
               exists (select 1 from outbox_entries e where e.resource_id = r.id
                       and (e.state = 'pending' or e.completed_at >= @since)) as moving,
               {1} as interface_only
        from {0} r
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
            // Back end first, database second: anything that changed in between shows up as "moving" below.
            var remote = await ListAllAsync(type.Collection, ct);
            var interfaceOnly = type == ResourceType.Port ? "r.device_owner = 'network:router_interface'" : "false";
            var local = new Dictionary<Guid, (long Applied, bool Moving, bool InterfaceOnly)>();
            await using (var cmd = dataSource.CreateCommand(string.Format(System.Globalization.CultureInfo.InvariantCulture, RowsSql, type.Table, interfaceOnly)))
            {
                cmd.Parameters.AddWithValue("since", since);
                await using var reader = await cmd.ExecuteReaderAsync(ct);
                while (await reader.ReadAsync(ct))
                {
                    local[reader.GetGuid(0)] = (reader.GetInt64(1), reader.GetBoolean(2), reader.GetBoolean(3));
                }
            }
            var moving = new HashSet<Guid>();
            await using (var cmd = dataSource.CreateCommand(MovingSql))
            {
                cmd.Parameters.AddWithValue("since", since);
                await using var reader = await cmd.ExecuteReaderAsync(ct);
                while (await reader.ReadAsync(ct))
                {
                    moving.Add(reader.GetGuid(0));
                }
            }

            foreach (var (id, row) in local.Where(l => !l.Value.Moving))
            {
                if (!remote.TryGetValue(id, out var remoteObject))
                {
                    if (row.Applied > 0 && !row.InterfaceOnly)
                    {
                        findings.Add(new(ReconciliationFinding.MissingAtBackEnd, type.Name, id, row.Applied, null));
                    }
                }
                else if (remoteObject.Revision != row.Applied)
                {
                    findings.Add(new(ReconciliationFinding.RevisionDrift, type.Name, id, row.Applied, remoteObject.Revision));
                }
            }
            foreach (var (id, remoteObject) in remote.Where(r => !local.ContainsKey(r.Key) && !moving.Contains(r.Key)))
            {
                findings.Add(new(ReconciliationFinding.OrphanAtBackEnd, type.Name, id, null, remoteObject.Revision, remoteObject.Parents));
            }
            checkedCounts[type.Collection] = local.Count + remote.Count(r => !local.ContainsKey(r.Key));
        }
        return (findings, checkedCounts);
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
            var (items, next) = await WithRetriesAsync(() => backend.ListPageAsync(collection, options.Value.PageSize, marker, ct), ct);
            foreach (var item in items)
            {
                all[item.Id] = item;
            }
            marker = next;
        }
        while (marker is not null);
        return all;
    }

    internal static async Task<T> WithRetriesAsync<T>(Func<Task<T>> read, CancellationToken ct)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return await read();
            }
            catch (Exception e) when (attempt < 6 && e is HttpRequestException or IOException or TaskCanceledException && !ct.IsCancellationRequested)
            {
                await Task.Delay(TimeSpan.FromMilliseconds(100 * Math.Pow(2, attempt)), ct);
            }
        }
    }
}
