using System.Diagnostics;
using System.Text.Json.Nodes;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Npgsql;
using NpgsqlTypes;
using OutboxSync.Hosting;
using OutboxSync.Outbox;
using OutboxSync.Persistence;
using OutboxSync.Resources;
using OutboxSync.Worker.Drain;

namespace OutboxSync.Worker.Maintenance;

/// <summary>
/// Repairs what a reconciliation run found by enqueuing ordinary outbox entries, so every repair goes through the
/// normal locked, ordered, fenced path; nothing here writes to the back end. A resource missing or drifted there
/// is sent again at a new revision (above anything the back end holds, so it is never refused as stale); an
/// orphan is deleted, children before parents. Each repair is guarded against the API and the drain moving the
/// resource since the run looked, so a run never resurrects a deleted resource nor deletes a created one.
/// </summary>
public sealed partial class ReconciliationRepair(
    IServiceScopeFactory scopes,
    NpgsqlDataSource dataSource,
    IOptions<ReconciliationOptions> options,
    TimeProvider time,
    ILogger<ReconciliationRepair> logger)
{
    // Invariant: a resource is re-sent only if it is exactly as the run saw it — ACTIVE, its desired revision applied
    // and equal to the one the run compared, nothing pending and nothing finished since the run began. FOR UPDATE
    // (held for this short transaction only) excludes the API's accept transactions, which lock the same row first:
    // an accept that committed earlier fails this guard; a later one waits for our commit and its entry, with a
    // higher seq and revision, follows the repair. "Moving" is answered from two resource-keyed indexes, pending and
    // completed (migration 013), never by reading the whole outbox.
    internal const string ResendGuardSql = """
        select 1 as "Value" from {table} r
        where r.id = @id and r.status = 'ACTIVE' and r.revision_number = @applied and r.applied_revision = @applied
          and not exists (select 1 from outbox_entries e
                          where e.resource_id = r.id and (e.state = 'pending' or e.completed_at >= @since))
        for update of r
        """;


    /// <summary>Enqueues a repair for each finding, within the per-run limit; returns the findings with what was done.</summary>
    public async Task<IReadOnlyList<ReconciliationFinding>> EnqueueAsync(IReadOnlyList<ReconciliationFinding> findings, DateTimeOffset since, CancellationToken ct)
    {
        using var activity = Telemetry.Source.StartActivity("reconciliation.repair");
        var done = new List<ReconciliationFinding>(findings.Count);
        var orphanPorts = findings.Where(f => f.Kind == ReconciliationFinding.OrphanAtBackEnd && f.ResourceType == ResourceType.Port.Name)
            .ToDictionary(f => f.Id, f => f.BackEndParents ?? []);
        var enqueued = 0;
        foreach (var finding in InRepairOrder(findings))
        {
            if (enqueued >= options.Value.MaxRepairsPerRun)
            {
                done.Add(finding with { Repair = "skipped: repair limit per run reached; the next run finds it again" });
                continue;
            }
            var (repair, seq) = finding switch
            {
                { Kind: ReconciliationFinding.OrphanAtBackEnd, ResourceType: ReconciliationFinding.RouterInterface } =>
                    await DetachOrphanInterfaceAsync(finding, orphanPorts.GetValueOrDefault(finding.Id, []), since, ct),
                { Kind: ReconciliationFinding.OrphanAtBackEnd } => await DeleteOrphanAsync(finding, since, ct),
                _ => await ResendAsync(finding, since, ct),
            };
            enqueued += seq is null ? 0 : 1;
            done.Add(finding with { Repair = repair, RepairSeq = seq });
        }
        if (enqueued > 0)
        {
            LogEnqueued(logger, enqueued);
            await using var notify = dataSource.CreateCommand($"select pg_notify('{OutboxWakeupChannel.Name}', '')");
            await notify.ExecuteNonQueryAsync(ct);
        }
        return done;
    }

    // Re-sends go parents first and orphan deletes children first, so each entry's dependencies are enqueued before
    // it (the dependency rules order by seq). An interface is the child of its router, subnet and port.
    private static IEnumerable<ReconciliationFinding> InRepairOrder(IReadOnlyList<ReconciliationFinding> findings)
    {
        string[] parentsFirst = [ResourceType.Network.Name, ResourceType.Router.Name, ResourceType.SecurityGroup.Name, ResourceType.SubnetPool.Name, ResourceType.Subnet.Name,
            ResourceType.SecurityGroupRule.Name, ResourceType.Port.Name, ReconciliationFinding.RouterInterface];
        var orphans = findings.Where(f => f.Kind == ReconciliationFinding.OrphanAtBackEnd)
            .OrderByDescending(f => Array.IndexOf(parentsFirst, f.ResourceType));
        var resends = findings.Where(f => f.Kind != ReconciliationFinding.OrphanAtBackEnd)
            .OrderBy(f => Array.IndexOf(parentsFirst, f.ResourceType));
        return orphans.Concat(resends);
    }

    private async Task<(string Repair, long? Seq)> ResendAsync(ReconciliationFinding finding, DateTimeOffset since, CancellationToken ct)
    {
        // An interface is re-sent as what it is, an attach of its port (rendered with its router, subnet and address).
        var isInterface = finding.ResourceType == ReconciliationFinding.RouterInterface;
        var type = isInterface ? ResourceType.Port : ResourceType.FromName(finding.ResourceType)!;
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<OutboxSyncDbContext>();
        await using var tx = await db.Database.BeginTransactionAsync(ct);
        var unchanged = await db.Database.SqlQueryRaw<int>(ResendGuardSql.Replace("{table}", type.Table, StringComparison.Ordinal),
                new NpgsqlParameter("id", finding.Id), new NpgsqlParameter("applied", finding.DatabaseRevision ?? 0),
                new NpgsqlParameter("since", since))
            .ToListAsync(ct);
        if (unchanged.Count == 0)
        {
            return ("skipped: the resource changed since the run looked", null);
        }
        var resource = (await ResourceRows.LoadAsync(db, type, [finding.Id], tracked: true, ct)).Single();
        var outbox = new OutboxWriter(db, time);
        if (isInterface && finding.Fields?.Contains("router_id") == true && finding.BackEndRouter is { } elsewhere)
        {
            // The back end attaches the port to another router and refuses an attach here while it does: detach it
            // there first (keeping the port), at the applied revision so the port does not look applied early.
            outbox.Append(resource, OutboxOperation.RemoveInterface, () => new JsonObject
            {
                ["id"] = resource.Id.ToString(), ["router_id"] = elsewhere.ToString(), [OutboxOperation.DetachOnlyFlag] = true,
            }, elsewhere);
        }
        // A new revision above both sides: the back end takes it whatever it holds (a drifted higher revision, or a
        // tombstone of an out-of-band delete), and the resource shows PENDING_UPDATE until it is confirmed.
        resource.RevisionNumber = Math.Max(resource.RevisionNumber, finding.BackEndRevision ?? 0) + 1;
        resource.UpdatedAt = time.GetUtcNow();
        resource.Status = ResourceStatus.PendingUpdate;
        resource.StatusReason = $"reconciliation: {finding.Kind}";
        var (snapshot, parents) = await ResourceSnapshots.RenderAsync(db, resource, ct);
        var operation = isInterface ? OutboxOperation.AddInterface
            : finding.Kind == ReconciliationFinding.MissingAtBackEnd ? OutboxOperation.Create : OutboxOperation.Update;
        outbox.Append(resource, operation, () => snapshot, parents);
        var detach = outbox.PendingCount > 1 ? "detach from the other router, then " : "";
        await outbox.FlushAsync(ct);
        await tx.CommitAsync(ct);
        var seq = db.ChangeTracker.Entries<OutboxEntry>().Max(e => e.Entity.Seq);
        return ($"enqueued {detach}{operation} at revision {resource.RevisionNumber}", seq);
    }

    // An orphan interface is detached; a router with interfaces, and a subnet under one, cannot be deleted before.
    // The detach names the router and the interface's subnet (so their deletes wait for it) and the port's own
    // parents when the port is an orphan too; confirming a detach also deletes the port object, so the port needs no
    // delete of its own (its orphan delete, enqueued after, is skipped as in motion).
    private async Task<(string Repair, long? Seq)> DetachOrphanInterfaceAsync(ReconciliationFinding finding, IReadOnlyList<Guid> portParents,
        DateTimeOffset since, CancellationToken ct)
    {
        var router = finding.BackEndRouter!.Value;
        var payload = new JsonObject { ["id"] = finding.Id.ToString(), ["router_id"] = router.ToString() };
        var dependsOn = portParents.Concat(finding.BackEndParents ?? []).Append(router).ToList();
        var seq = await InsertOrphanEntryAsync(ResourceType.Port, finding.Id, OutboxOperation.RemoveInterface, 0, payload, dependsOn, since, ct);
        return seq is null ? ("skipped: the port exists here or is in motion", null) : ($"enqueued detach from router {router}", seq);
    }

    private async Task<(string Repair, long? Seq)> DeleteOrphanAsync(ReconciliationFinding finding, DateTimeOffset since, CancellationToken ct)
    {
        var type = ResourceType.FromName(finding.ResourceType)!;
        var seq = await InsertOrphanEntryAsync(type, finding.Id, OutboxOperation.Delete, finding.BackEndRevision ?? 0,
            new JsonObject { ["id"] = finding.Id.ToString() }, (finding.BackEndParents ?? []).ToList(), since, ct);
        return seq is null ? ("skipped: the resource exists here or is in motion", null) : ("enqueued delete", seq);
    }

    private Task<long?> InsertOrphanEntryAsync(ResourceType type, Guid id, string operation, long revision, JsonObject payload,
        List<Guid> dependsOn, DateTimeOffset since, CancellationToken ct) =>
        OutboxRepairs.EnqueueOrphanAsync(dataSource, type, id, operation, revision, payload.ToJsonString(), dependsOn, since, ct);

    [LoggerMessage(LogLevel.Information, "Reconciliation enqueued {Count} repairs")]
    private static partial void LogEnqueued(ILogger logger, int count);
}
