using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Transactions;
using Hangfire;
using Hangfire.PostgreSql;
using Hangfire.PostgreSql.Factories;
using Medallion.Threading.Postgres;
using Npgsql;

namespace OutboxSync.Bench.Baselines;

public sealed record DesignSettings(string Design, string ConnectionString);

public sealed record PortRow(Guid Id, Guid NetworkId, string Name, long Revision);

/// <summary>The baselines' own tables (schema <c>baseline</c>), so they never touch the product's schema.</summary>
public sealed class PortStore(NpgsqlDataSource db)
{
    public async Task EnsureSchemaAsync()
    {
        await using var cmd = db.CreateCommand("""
            create schema if not exists baseline;
            create table if not exists baseline.networks (id uuid primary key, name text not null, status text not null);
            create table if not exists baseline.ports (
                id uuid primary key, network_id uuid not null references baseline.networks (id), name text not null,
                revision bigint not null, applied_revision bigint not null default 0, status text not null,
                updated_at timestamptz not null default now());
            -- The 2014 thread's cross_server_locks, in its two honest readings: with a unique lock_name (a racing
            -- INSERT fails and the caller waits again) and without one (check-then-insert races go through).
            create table if not exists baseline.cross_server_locks_unique (lock_name text primary key, holder text not null, acquired_at timestamptz not null default now());
            create table if not exists baseline.cross_server_locks (lock_name text not null, holder text not null, acquired_at timestamptz not null default now());
            """);
        try
        {
            await cmd.ExecuteNonQueryAsync();
        }
        catch (PostgresException e) when (e.SqlState is "23505" or "42P07")
        {
            // Several processes started at once raced on "create if not exists"; the other one won.
        }
    }

    public static async Task<PortRow> InsertAsync(NpgsqlConnection c, NpgsqlTransaction? tx, Guid networkId, string name, string status, CancellationToken ct)
    {
        var id = Guid.NewGuid();
        await using var cmd = new NpgsqlCommand(
            "insert into baseline.ports (id, network_id, name, revision, status) values ($1, $2, $3, 1, $4)", c, tx);
        cmd.Parameters.AddWithValue(id);
        cmd.Parameters.AddWithValue(networkId);
        cmd.Parameters.AddWithValue(name);
        cmd.Parameters.AddWithValue(status);
        await cmd.ExecuteNonQueryAsync(ct);
        return new PortRow(id, networkId, name, 1);
    }

    /// <summary>Bumps the revision; the row stays locked until the caller's transaction ends.</summary>
    public static async Task<PortRow?> UpdateAsync(NpgsqlConnection c, NpgsqlTransaction? tx, Guid id, string name, string status, CancellationToken ct)
    {
        await using var cmd = new NpgsqlCommand(
            "update baseline.ports set name = $2, revision = revision + 1, status = $3, updated_at = now() where id = $1 returning network_id, revision", c, tx);
        cmd.Parameters.AddWithValue(id);
        cmd.Parameters.AddWithValue(name);
        cmd.Parameters.AddWithValue(status);
        await using var r = await cmd.ExecuteReaderAsync(ct);
        return await r.ReadAsync(ct) ? new PortRow(id, r.GetGuid(0), name, r.GetInt64(1)) : null;
    }
}

/// <summary>The SDN gateway client the baselines share: one call, no retries (the request is the retry unit).</summary>
public sealed class DeviceClient(HttpClient http)
{
    public async Task<(bool Ok, string? Error)> PutPortAsync(PortRow p, bool create, CancellationToken ct)
    {
        var body = new JsonObject
        {
            ["revision"] = p.Revision,
            ["attributes"] = new JsonObject { ["network_id"] = p.NetworkId.ToString(), ["name"] = p.Name },
        };
        if (create)
        {
            body["id"] = p.Id.ToString();
        }
        using var req = new HttpRequestMessage(create ? HttpMethod.Post : HttpMethod.Put, create ? "/v1/ports" : $"/v1/ports/{p.Id}")
        {
            Content = JsonContent.Create(body),
        };
        return await SendAsync(req, ct);
    }

    public async Task<(bool Ok, string? Error)> CreateNetworkAsync(Guid id, string name, CancellationToken ct)
    {
        using var req = new HttpRequestMessage(HttpMethod.Post, "/v1/networks")
        {
            Content = JsonContent.Create(new JsonObject { ["id"] = id.ToString(), ["revision"] = 1, ["attributes"] = new JsonObject { ["name"] = name } }),
        };
        return await SendAsync(req, ct);
    }

    private async Task<(bool Ok, string? Error)> SendAsync(HttpRequestMessage req, CancellationToken ct)
    {
        // No fencing in these designs: every writer uses the same token, which the gateway always accepts.
        req.Headers.Add("X-Fencing-Token", "1");
        req.Headers.Add("Idempotency-Key", Guid.NewGuid().ToString());
        try
        {
            using var resp = await http.SendAsync(req, ct);
            if (resp.IsSuccessStatusCode)
            {
                return (true, null);
            }
            var text = await resp.Content.ReadAsStringAsync(ct);
            // already_exists / stale_revision: the device holds this or a newer state; treat as done.
            if (resp.StatusCode == HttpStatusCode.Conflict && (text.Contains("already_exists") || text.Contains("stale_revision")))
            {
                return (true, null);
            }
            return (false, $"{(int)resp.StatusCode} {text}");
        }
        catch (HttpRequestException e)
        {
            return (false, e.Message);
        }
    }
}

/// <summary>Hangfire job: apply a port's current row to the device under a per-port advisory lock (DistributedLock.Postgres).</summary>
public sealed class DeviceJob(DesignSettings settings, NpgsqlDataSource db, DeviceClient device)
{
    [AutomaticRetry(Attempts = 10)]
    public async Task ApplyPortAsync(Guid id)
    {
        var key = new PostgresAdvisoryLockKey($"port:{id}", allowHashing: true);
        var @lock = new PostgresDistributedLock(key, settings.ConnectionString);
        await using (await @lock.AcquireAsync(TimeSpan.FromMinutes(5)))
        {
            PortRow row;
            long applied;
            await using (var cmd = db.CreateCommand("select network_id, name, revision, applied_revision from baseline.ports where id = $1"))
            {
                cmd.Parameters.AddWithValue(id);
                await using var r = await cmd.ExecuteReaderAsync();
                if (!await r.ReadAsync())
                {
                    return;
                }
                row = new PortRow(id, r.GetGuid(0), r.GetString(1), r.GetInt64(2));
                applied = r.GetInt64(3);
            }
            if (applied >= row.Revision)
            {
                return; // an earlier job already sent this (or a newer) state
            }
            var (ok, error) = await device.PutPortAsync(row, create: applied == 0, CancellationToken.None);
            if (!ok)
            {
                throw new InvalidOperationException($"device call failed: {error}");
            }
            await using var done = db.CreateCommand(
                "update baseline.ports set applied_revision = greatest(applied_revision, $2), status = case when revision <= $2 then 'ACTIVE' else status end where id = $1");
            done.Parameters.AddWithValue(id);
            done.Parameters.AddWithValue(row.Revision);
            await done.ExecuteNonQueryAsync();
        }
    }
}

public static class BaselineEndpoints
{
    private const long GlobalLockKey = 7_355_608;

    public static void Map(WebApplication app, string design)
    {
        app.MapPost("/v2.0/networks", async (HttpContext ctx, NpgsqlDataSource db, DeviceClient device, CancellationToken ct) =>
        {
            var body = await JsonNode.ParseAsync(ctx.Request.Body, cancellationToken: ct);
            var name = body?["network"]?["name"]?.GetValue<string>() ?? "";
            var id = Guid.NewGuid();
            // Setup only: every design creates networks synchronously.
            var (ok, error) = await device.CreateNetworkAsync(id, name, ct);
            if (!ok)
            {
                return Error(502, error);
            }
            await using var cmd = db.CreateCommand("insert into baseline.networks (id, name, status) values ($1, $2, 'ACTIVE')");
            cmd.Parameters.AddWithValue(id);
            cmd.Parameters.AddWithValue(name);
            await cmd.ExecuteNonQueryAsync(ct);
            return Results.Json(new { network = new { id, name, status = "ACTIVE" } }, statusCode: 201);
        });

        app.MapPost("/v2.0/ports", async (HttpContext ctx, NpgsqlDataSource db, DeviceClient device, IServiceProvider sp, CancellationToken ct) =>
        {
            var body = await JsonNode.ParseAsync(ctx.Request.Body, cancellationToken: ct);
            var port = body?["port"];
            if (port?["network_id"]?.GetValue<string>() is not { } nid || !Guid.TryParse(nid, out var networkId))
            {
                return Error(400, "network_id is required");
            }
            var name = port["name"]?.GetValue<string>() ?? "";
            return await WriteAsync(design, db, device, sp, (c, tx, status) => PortStore.InsertAsync(c, tx, networkId, name, status, ct)!, create: true, null, ct);
        });

        app.MapPut("/v2.0/ports/{id:guid}", async (Guid id, HttpContext ctx, NpgsqlDataSource db, DeviceClient device, IServiceProvider sp, CancellationToken ct) =>
        {
            var body = await JsonNode.ParseAsync(ctx.Request.Body, cancellationToken: ct);
            var name = body?["port"]?["name"]?.GetValue<string>() ?? "";
            return await WriteAsync(design, db, device, sp, (c, tx, status) => PortStore.UpdateAsync(c, tx, id, name, status, ct), create: false, id, ct);
        });
    }

    internal delegate Task<PortRow?> Write(NpgsqlConnection c, NpgsqlTransaction? tx, string status);

    /// <summary>How long a lock-table design waits for a lock held by someone else before it gives up (409).</summary>
    public static TimeSpan LockWait { get; set; } = TimeSpan.FromSeconds(30);

    /// <param name="id">The port an update changes (its lock is taken before the row is written); null for a create.</param>
    private static async Task<IResult> WriteAsync(string design, NpgsqlDataSource db, DeviceClient device, IServiceProvider sp, Write write, bool create,
        Guid? id, CancellationToken ct)
    {
        try
        {
            return design.StartsWith(LockTable.Design, StringComparison.Ordinal)
                ? await LockTable.WriteAsync(design, db, device, write, create, id, LockWait, ct)
                : await WriteCoreAsync(design, db, device, sp, write, create, ct);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            var text = e.GetType().Name + ": " + e.Message;
            return Error(500, text.Length > 300 ? text[..300] : text);
        }
    }

    private static async Task<IResult> WriteCoreAsync(string design, NpgsqlDataSource db, DeviceClient device, IServiceProvider sp, Write write, bool create, CancellationToken ct)
    {
        switch (design)
        {
            case "inline":
            case "global-lock":
            {
                // The 2013 design: the device call happens inside the transaction that writes the row.
                await using var c = await db.OpenConnectionAsync(ct);
                await using var tx = await c.BeginTransactionAsync(ct);
                if (design == "global-lock")
                {
                    // @synchronized(external=True): one lock for every write in every server.
                    await using var l = new NpgsqlCommand($"select pg_advisory_xact_lock({GlobalLockKey})", c, tx);
                    await l.ExecuteNonQueryAsync(ct);
                }
                var row = await write(c, tx, "ACTIVE");
                if (row is null)
                {
                    return Error(404, "port not found");
                }
                var (ok, error) = await device.PutPortAsync(row, create, ct);
                if (!ok)
                {
                    await tx.RollbackAsync(CancellationToken.None);
                    return Error(502, error);
                }
                await tx.CommitAsync(ct);
                return Ok(row, "ACTIVE", create);
            }
            case "post-commit":
            {
                // ML2: commit, then call the device in the request; undo the create if the device refuses.
                PortRow? row;
                await using (var c = await db.OpenConnectionAsync(ct))
                {
                    row = await write(c, null, "ACTIVE");
                }
                if (row is null)
                {
                    return Error(404, "port not found");
                }
                var (ok, error) = await device.PutPortAsync(row, create, ct);
                if (!ok)
                {
                    if (create)
                    {
                        await using var del = db.CreateCommand("delete from baseline.ports where id = $1");
                        del.Parameters.AddWithValue(row.Id);
                        await del.ExecuteNonQueryAsync(CancellationToken.None);
                    }
                    return Error(502, error);
                }
                return Ok(row, "ACTIVE", create);
            }
            case "hangfire":
            {
                // The row and the Hangfire job commit together: Hangfire.PostgreSql writes the job through the same
                // connection (ExistingNpgsqlConnectionFactory), which is enlisted in the ambient TransactionScope. Two
                // connections in one scope would escalate to a distributed transaction, which Npgsql cannot do here.
                var settings = sp.GetRequiredService<DesignSettings>();
                PortRow? row;
                using (var scope = new TransactionScope(TransactionScopeOption.Required,
                           new TransactionOptions { IsolationLevel = IsolationLevel.ReadCommitted }, TransactionScopeAsyncFlowOption.Enabled))
                {
                    await using var c = new NpgsqlConnection(settings.ConnectionString + ";Enlist=true");
                    await c.OpenAsync(ct);
                    row = await write(c, null, create ? "PENDING_CREATE" : "PENDING_UPDATE");
                    if (row is null)
                    {
                        return Error(404, "port not found");
                    }
                    var id = row.Id;
                    var storageOptions = new PostgreSqlStorageOptions { EnableTransactionScopeEnlistment = true, PrepareSchemaIfNecessary = false };
                    var storage = new PostgreSqlStorage(new ExistingNpgsqlConnectionFactory(c, storageOptions), storageOptions);
                    var jobs = new BackgroundJobClient(storage);
                    jobs.Enqueue<DeviceJob>(j => j.ApplyPortAsync(id));
                    scope.Complete();
                }
                return Ok(row, create ? "PENDING_CREATE" : "PENDING_UPDATE", create);
            }
            default:
                return Error(500, $"unknown design {design}");
        }
    }

    internal static IResult Ok(PortRow row, string status, bool create) =>
        Results.Json(new { port = new { id = row.Id, network_id = row.NetworkId, name = row.Name, status, revision_number = row.Revision } },
            statusCode: create ? 201 : 200);

    internal static IResult Error(int status, string? message) =>
        Results.Json(new { NeutronError = new { type = "BackendError", message = message ?? "", detail = "" } }, statusCode: status);
}
