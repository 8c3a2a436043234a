using System.Data.Common;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Storage;
using Npgsql;
using NpgsqlTypes;
using OutboxSync.Api.Accept;
using OutboxSync.Api.Auth;
using OutboxSync.Api.Endpoints;
using OutboxSync.Api.Errors;
using OutboxSync.Outbox;
using OutboxSync.Persistence;
using OutboxSync.Resources;

namespace OutboxSync.Api.Operator;

/// <summary>
/// The operator API (admin role only): inspect and repair the outbox, trigger reconciliation, see replicas and
/// leases. Every change is recorded in operator_audit in the same transaction as the change.
/// </summary>
public static class OperatorEndpoints
{
    public static RouteGroupBuilder MapOperatorApi(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/admin/v1").WithTags("operator");
        group.MapGet("/outbox", ListEntries);
        group.MapPost("/outbox/{seq:long}/retry", Retry);
        group.MapPost("/outbox/{seq:long}/discard", Discard);
        group.MapPost("/resources/{type}/{id:guid}/resync", Resync);
        group.MapPost("/reconciliations", RequestReconciliation);
        group.MapGet("/reconciliations/latest", LatestReconciliation);
        group.MapGet("/workers", Workers);
        group.MapGet("/leases", Leases);
        group.MapGet("/audit", Audit);
        return group;
    }

    private static async Task<Ok<JsonObject>> ListEntries(HttpContext context, NpgsqlDataSource db, string? state, Guid? resource_id,
        int? older_than_seconds, int? limit, CancellationToken ct)
    {
        if (state is not null && state is not (OutboxState.Pending or OutboxState.Done or OutboxState.Superseded or OutboxState.Failed or OutboxState.Discarded))
        {
            throw NeutronException.BadRequest("state must be one of pending, done, superseded, failed, discarded");
        }
        var take = Math.Clamp(limit ?? 100, 1, 1000);
        await using var cmd = db.CreateCommand("""
            select seq, resource_type, resource_id, operation, revision, project_id, state, attempts, next_attempt_at,
                   last_error, blocked_by, created_at, completed_at
            from outbox_entries
            where (@state is null or state = @state)
              and (@rid is null or resource_id = @rid)
              and (@age is null or created_at < now() - make_interval(secs => @age))
            order by seq desc
            limit @limit
            """);
        cmd.Parameters.Add(new NpgsqlParameter("state", NpgsqlDbType.Text) { Value = (object?)state ?? DBNull.Value });
        cmd.Parameters.Add(new NpgsqlParameter("rid", NpgsqlDbType.Uuid) { Value = (object?)resource_id ?? DBNull.Value });
        cmd.Parameters.Add(new NpgsqlParameter("age", NpgsqlDbType.Integer) { Value = (object?)older_than_seconds ?? DBNull.Value });
        cmd.Parameters.AddWithValue("limit", take);
        return TypedResults.Ok(new JsonObject { ["entries"] = await ReadRowsAsync(cmd, ct) });
    }

    /// <summary>A failed entry is queued again as a new entry carrying the same change (<see cref="OutboxRepairs.RetryFailedAsync"/>).</summary>
    private static async Task<Ok<JsonObject>> Retry(long seq, HttpContext context, OutboxSyncDbContext db, OutboxWakeup wakeup, CancellationToken ct)
    {
        var actor = TenantContext.From(context).Name;
        await using var tx = await db.Database.BeginTransactionAsync(ct);
        var repair = await OutboxRepairs.RetryFailedAsync(db, seq, ct);
        var entry = Found(repair, seq, "OutboxEntryNotFailed", state => $"Outbox entry {seq} is {state}; only failed entries can be retried.");
        await AuditAsync(db, actor, "retry", $"outbox/{seq}",
            new JsonObject { ["resource_id"] = entry.ResourceId.ToString(), ["retried_as"] = repair.RetriedAs }, ct);
        await tx.CommitAsync(ct);
        wakeup.Poke();
        return TypedResults.Ok(new JsonObject { ["seq"] = seq, ["state"] = entry.State, ["retried_as"] = repair.RetriedAs });
    }

    /// <summary>Drops a pending or failed entry; its resource goes to ERROR (<see cref="OutboxRepairs.DiscardAsync"/>).</summary>
    private static async Task<Ok<JsonObject>> Discard(long seq, HttpContext context, OutboxSyncDbContext db, CancellationToken ct)
    {
        var actor = TenantContext.From(context).Name;
        await using var tx = await db.Database.BeginTransactionAsync(ct);
        var repair = await OutboxRepairs.DiscardAsync(db, seq, actor, ct);
        var entry = Found(repair, seq, "OutboxEntryFinished", state => $"Outbox entry {seq} is {state} and cannot be discarded.");
        await AuditAsync(db, actor, "discard", $"outbox/{seq}", new JsonObject { ["resource_id"] = entry.ResourceId.ToString() }, ct);
        await tx.CommitAsync(ct);
        return TypedResults.Ok(new JsonObject { ["seq"] = seq, ["state"] = entry.State });
    }

    private static OutboxEntry Found(EntryRepair repair, long seq, string conflictType, Func<string, string> conflictMessage) => repair.Outcome switch
    {
        EntryRepairOutcome.Done => repair.Entry!,
        EntryRepairOutcome.NotFound => throw new NeutronException(404, "OutboxEntryNotFound", $"Outbox entry {seq} could not be found."),
        _ => throw NeutronException.Conflict(conflictType, conflictMessage(repair.Entry!.State)),
    };

    /// <summary>Re-sends a resource in ERROR: a new entry carrying its current state (or its delete).</summary>
    private static async Task<Ok<JsonObject>> Resync(string type, Guid id, HttpContext context, OutboxSyncDbContext db,
        OutboxWriter outbox, ResourceLookup lookup, OutboxWakeup wakeup, CancellationToken ct)
    {
        var tenant = TenantContext.From(context);
        var resourceType = ResourceType.FromName(type) ?? ResourceType.FromCollection(type)
            ?? throw NeutronException.BadRequest("type must be one of network, subnet, port, router");
        await using var tx = await db.Database.BeginTransactionAsync(ct);
        StandardResource resource = resourceType.Name switch
        {
            "network" => await lookup.FindAsync<Network>(resourceType, id.ToString(), tenant, true, ct),
            "subnet" => await lookup.FindAsync<Subnet>(resourceType, id.ToString(), tenant, true, ct),
            "port" => await lookup.FindAsync<Port>(resourceType, id.ToString(), tenant, true, ct),
            _ => await lookup.FindAsync<Router>(resourceType, id.ToString(), tenant, true, ct),
        };
        if (resource.Status != ResourceStatus.Error)
        {
            throw NeutronException.Conflict("ResourceNotInError", $"{resourceType.Name} {id} is {resource.Status}; only ERROR resources are resynced.");
        }
        if (await db.OutboxEntries.AnyAsync(e => e.ResourceId == id && e.State == OutboxState.Pending, ct))
        {
            throw NeutronException.Conflict("ResyncPending", $"{resourceType.Name} {id} already has pending outbox entries.");
        }
        var lastOperation = await db.OutboxEntries.Where(e => e.ResourceId == id && e.State != OutboxState.Superseded)
            .OrderByDescending(e => e.Seq).Select(e => e.Operation).FirstOrDefaultAsync(ct);
        var deleting = lastOperation is OutboxOperation.Delete or OutboxOperation.RemoveInterface;
        var operation = deleting ? lastOperation! : resource.AppliedRevision == 0 ? OutboxOperation.Create : OutboxOperation.Update;
        if (lastOperation == OutboxOperation.AddInterface)
        {
            operation = OutboxOperation.AddInterface;
        }
        resource.Status = deleting ? ResourceStatus.PendingDelete : resource.AppliedRevision == 0 ? ResourceStatus.PendingCreate : ResourceStatus.PendingUpdate;
        resource.StatusReason = null;
        var (snapshot, parents) = await ResourceSnapshots.RenderAsync(db, resource, ct);
        outbox.Append(resource, operation, () => snapshot, parents);
        await outbox.FlushAsync(ct);
        await AuditAsync(db, tenant.Name, "resync", $"{resourceType.Name}/{id}", new JsonObject { ["operation"] = operation }, ct);
        await tx.CommitAsync(ct);
        wakeup.Poke();
        return TypedResults.Ok(new JsonObject { ["id"] = id.ToString(), ["status"] = resource.Status, ["operation"] = operation });
    }

    private static async Task<Accepted<JsonObject>> RequestReconciliation(HttpContext context, OutboxSyncDbContext db, CancellationToken ct)
    {
        var actor = TenantContext.From(context).Name;
        await using var tx = await db.Database.BeginTransactionAsync(ct);
        var id = await db.Database.SqlQueryRaw<long>(
            "insert into reconciliation_runs (requested_by) values ({0}) returning id as \"Value\"", actor).ToListAsync(ct);
        await AuditAsync(db, actor, "reconcile", $"reconciliation/{id[0]}", [], ct);
        await tx.CommitAsync(ct);
        return TypedResults.Accepted($"/admin/v1/reconciliations/{id[0]}", new JsonObject { ["id"] = id[0], ["state"] = "requested" });
    }

    private static async Task<Ok<JsonObject>> LatestReconciliation(NpgsqlDataSource db, CancellationToken ct)
    {
        await using var cmd = db.CreateCommand("""
            select id, requested_by, requested_at, started_at, finished_at, state, summary, findings, error
            from reconciliation_runs order by id desc limit 1
            """);
        var rows = await ReadRowsAsync(cmd, ct);
        return rows.Count == 0
            ? throw new NeutronException(404, "ReconciliationNotFound", "No reconciliation has run yet.")
            : TypedResults.Ok(new JsonObject { ["reconciliation"] = rows[0]!.DeepClone() });
    }

    private static async Task<Ok<JsonObject>> Workers(NpgsqlDataSource db, CancellationToken ct)
    {
        await using var cmd = db.CreateCommand("""
            select r.instance_id, r.host, r.started_at, r.heartbeat_at, r.in_flight,
                   (select count(*) from operator_leases l where l.holder = r.instance_id and l.expires_at > now()) as leases_held
            from worker_replicas r order by r.instance_id
            """);
        return TypedResults.Ok(new JsonObject { ["workers"] = await ReadRowsAsync(cmd, ct) });
    }

    private static async Task<Ok<JsonObject>> Leases(NpgsqlDataSource db, string? holder, CancellationToken ct)
    {
        await using var cmd = db.CreateCommand("""
            select resource_id, holder, token, acquired_at, expires_at, expires_at > now() as live
            from operator_leases where (@holder is null or holder = @holder) order by acquired_at limit 1000
            """);
        cmd.Parameters.Add(new NpgsqlParameter("holder", NpgsqlDbType.Text) { Value = (object?)holder ?? DBNull.Value });
        return TypedResults.Ok(new JsonObject { ["leases"] = await ReadRowsAsync(cmd, ct) });
    }

    private static async Task<Ok<JsonObject>> Audit(NpgsqlDataSource db, int? limit, CancellationToken ct)
    {
        await using var cmd = db.CreateCommand("select id, at, actor, action, target, details from operator_audit order by id desc limit @limit");
        cmd.Parameters.AddWithValue("limit", Math.Clamp(limit ?? 100, 1, 1000));
        return TypedResults.Ok(new JsonObject { ["audit"] = await ReadRowsAsync(cmd, ct) });
    }

    private static async Task AuditAsync(OutboxSyncDbContext db, string actor, string action, string target, JsonObject details, CancellationToken ct)
    {
        var connection = (NpgsqlConnection)db.Database.GetDbConnection();
        var tx = (NpgsqlTransaction?)db.Database.CurrentTransaction?.GetDbTransaction();
        await OperatorAudit.RecordAsync(connection, tx, actor, action, target, details, ct);
    }

    private static async Task<JsonArray> ReadRowsAsync(DbCommand cmd, CancellationToken ct)
    {
        var rows = new JsonArray();
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
        {
            var row = new JsonObject();
            for (var i = 0; i < reader.FieldCount; i++)
            {
                row[reader.GetName(i)] = reader.IsDBNull(i) ? null : reader.GetValue(i) switch
                {
                    DateTime d => ResourceViews.Timestamp(new DateTimeOffset(DateTime.SpecifyKind(d, DateTimeKind.Utc))),
                    DateTimeOffset o => ResourceViews.Timestamp(o),
                    Guid g => g.ToString(),
                    long l => l,
                    int n => n,
                    bool b => b,
                    string s when reader.GetDataTypeName(i) == "jsonb" => JsonNode.Parse(s),
                    var v => v.ToString(),
                };
            }
            rows.Add(row);
        }
        return rows;
    }
}
