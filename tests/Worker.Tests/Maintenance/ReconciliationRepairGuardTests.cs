using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using OutboxSync.Worker.Maintenance;
using OutboxSync.Worker.Tests.Support;

namespace OutboxSync.Worker.Tests.Maintenance;

/// <summary>
/// The guards that keep a reconciliation run safe while the API and the drain are busy: what moved after the run
/// looked is left alone — no resurrection of a resource deleted meanwhile, no deletion of one created meanwhile,
/// no overwrite of a user's newer change.
/// </summary>
public sealed class ReconciliationRepairGuardTests : DatabaseBackedTests
{
    private WorkerHost _worker = null!;
    private ReconciliationRepair _repair = null!;

    protected override Task SetUpAsync()
    {
        // Built, never started: only its services are used, and no router finding needs the back end.
        _worker = WorkerHost.Build(Database);
        _repair = _worker.Services.GetRequiredService<ReconciliationRepair>();
        return Task.CompletedTask;
    }

    protected override async Task TearDownAsync() => await _worker.DisposeAsync();

    [Fact]
    public async Task A_settled_missing_resource_is_resent_at_a_new_revision_and_a_true_orphan_is_deleted()
    {
        var net = await SettledNetworkAsync("lost");
        var orphan = Guid.NewGuid();
        var since = await DatabaseNowAsync();

        var done = await _repair.EnqueueAsync(
            [Finding(ReconciliationFinding.MissingAtBackEnd, net, applied: 1), Finding(ReconciliationFinding.OrphanAtBackEnd, orphan, backEnd: 5)],
            since, CancellationToken.None);

        Assert.All(done, f => Assert.NotNull(f.RepairSeq));
        var row = (await Scenario.ResourceAsync("networks", net))!.Value;
        Assert.Equal(("PENDING_UPDATE", 2L, 1L), (row.Status, row.Revision, row.Applied));
        var resend = (await Scenario.EntriesAsync(net)).Last();
        Assert.Equal(("create", "pending"), (resend.Operation, resend.State));
        await using (var cmd = DataSource.CreateCommand("select revision, payload->>'revision_number', payload->>'name' from outbox_entries where seq = @seq"))
        {
            cmd.Parameters.AddWithValue("seq", resend.Seq);
            await using var r = await cmd.ExecuteReaderAsync();
            await r.ReadAsync();
            Assert.Equal((2L, "2", "lost"), (r.GetInt64(0), r.GetString(1), r.GetString(2)));
        }
        var delete = Assert.Single(await Scenario.EntriesAsync(orphan));
        Assert.Equal(("delete", "pending"), (delete.Operation, delete.State));
    }

    [Fact]
    public async Task A_drifted_resource_goes_above_the_back_ends_revision()
    {
        var net = await SettledNetworkAsync("here");
        var done = await _repair.EnqueueAsync([Finding(ReconciliationFinding.RevisionDrift, net, applied: 1, backEnd: 42)],
            await DatabaseNowAsync(), CancellationToken.None);

        Assert.NotNull(Assert.Single(done).RepairSeq);
        Assert.Equal(43L, (await Scenario.ResourceAsync("networks", net))!.Value.Revision);
        Assert.Equal("update", (await Scenario.EntriesAsync(net)).Last().Operation);
    }

    [Fact]
    public async Task A_missing_resource_deleted_after_the_run_looked_is_not_resurrected()
    {
        var deletedAndGone = await SettledNetworkAsync("gone");
        var deleting = await SettledNetworkAsync("deleting");
        var since = await DatabaseNowAsync();
        // After the listing: one delete is confirmed (row gone), the other is still on its way.
        await Scenario.DeleteNetworkAsync(deletedAndGone);
        await SettleAsync(deletedAndGone);
        await using (var remove = DataSource.CreateCommand("delete from networks where id = @id"))
        {
            remove.Parameters.AddWithValue("id", deletedAndGone);
            await remove.ExecuteNonQueryAsync();
        }
        await Scenario.DeleteNetworkAsync(deleting);

        var done = await _repair.EnqueueAsync(
            [Finding(ReconciliationFinding.MissingAtBackEnd, deletedAndGone, applied: 1), Finding(ReconciliationFinding.MissingAtBackEnd, deleting, applied: 1)],
            since, CancellationToken.None);

        Assert.All(done, f => Assert.Null(f.RepairSeq));
        Assert.All(done, f => Assert.StartsWith("skipped", f.Repair, StringComparison.Ordinal));
        Assert.Null(await Scenario.ResourceAsync("networks", deletedAndGone));
        Assert.DoesNotContain(await Scenario.EntriesAsync(deletedAndGone), e => e.Operation != "create" && e.Operation != "delete");
        Assert.Equal(["create", "delete"], (await Scenario.EntriesAsync(deleting)).Select(e => e.Operation));
        Assert.Equal("PENDING_DELETE", (await Scenario.ResourceAsync("networks", deleting))!.Value.Status);
    }

    [Fact]
    public async Task A_drifted_resource_updated_after_the_run_looked_keeps_only_the_users_change()
    {
        var net = await SettledNetworkAsync("before");
        var since = await DatabaseNowAsync();
        await Scenario.UpdateNetworkAsync(net, "users-change");

        var done = await _repair.EnqueueAsync([Finding(ReconciliationFinding.RevisionDrift, net, applied: 1, backEnd: 7)], since, CancellationToken.None);

        Assert.Null(Assert.Single(done).RepairSeq);
        Assert.Equal(["create", "update"], (await Scenario.EntriesAsync(net)).Select(e => e.Operation));
        Assert.Equal(2L, (await Scenario.ResourceAsync("networks", net))!.Value.Revision);
    }

    [Fact]
    public async Task An_orphan_created_here_after_the_run_looked_is_not_deleted()
    {
        var since = await DatabaseNowAsync();
        var pending = await Scenario.CreateNetworkAsync("new", Guid.NewGuid());
        var confirmed = await SettledNetworkAsync("new-and-active");

        var done = await _repair.EnqueueAsync(
            [Finding(ReconciliationFinding.OrphanAtBackEnd, pending, backEnd: 1), Finding(ReconciliationFinding.OrphanAtBackEnd, confirmed, backEnd: 1)],
            since, CancellationToken.None);

        Assert.All(done, f => Assert.Null(f.RepairSeq));
        Assert.DoesNotContain(await Scenario.EntriesAsync(pending), e => e.Operation == "delete");
        Assert.DoesNotContain(await Scenario.EntriesAsync(confirmed), e => e.Operation == "delete");
    }

    [Fact]
    public async Task An_orphan_whose_delete_finished_after_the_run_looked_is_left_alone()
    {
        var net = await SettledNetworkAsync("deleted-meanwhile");
        var since = await DatabaseNowAsync();
        await Scenario.DeleteNetworkAsync(net);
        await using (var confirm = DataSource.CreateCommand("""
            update outbox_entries set state = 'done', completed_at = clock_timestamp() where resource_id = @id and state = 'pending';
            delete from networks where id = @id
            """))
        {
            confirm.Parameters.AddWithValue("id", net);
            await confirm.ExecuteNonQueryAsync();
        }

        var done = await _repair.EnqueueAsync([Finding(ReconciliationFinding.OrphanAtBackEnd, net, backEnd: 1)], since, CancellationToken.None);

        Assert.Null(Assert.Single(done).RepairSeq);
        Assert.Equal(["create", "delete"], (await Scenario.EntriesAsync(net)).Select(e => e.Operation));
    }

    [Fact]
    public async Task Repairs_beyond_the_per_run_limit_are_reported_and_left_for_the_next_run()
    {
        await using var limited = WorkerHost.Build(Database, settings: new Dictionary<string, string?> { ["Worker:Reconciliation:MaxRepairsPerRun"] = "1" });
        var repair = limited.Services.GetRequiredService<ReconciliationRepair>();
        var done = await repair.EnqueueAsync(
            [Finding(ReconciliationFinding.OrphanAtBackEnd, Guid.NewGuid(), backEnd: 1), Finding(ReconciliationFinding.OrphanAtBackEnd, Guid.NewGuid(), backEnd: 1)],
            await DatabaseNowAsync(), CancellationToken.None);

        Assert.Single(done, f => f.RepairSeq is not null);
        Assert.Single(done, f => f.Repair!.Contains("limit", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("force_generic_plan")]
    [InlineData("force_custom_plan")]
    public async Task The_resend_guard_probes_the_resources_own_entries_instead_of_reading_the_outbox(string planCacheMode)
    {
        // A retained history of 20,000 finished entries of other resources: reading them all per repaired resource
        // is what made a run after a back-end wipe cost PostgreSQL tens of milliseconds per resource.
        await using (var fill = DataSource.CreateCommand("""
            insert into outbox_entries (resource_type, resource_id, operation, revision, payload, project_id, depends_on, state, created_at, completed_at)
            select 'network', gen_random_uuid(), 'create', 1, '{}', 'p', '{}', 'done', now() - interval '2 hours', now() - interval '2 hours'
            from generate_series(1, 20000);
            analyze outbox_entries;
            """))
        {
            await fill.ExecuteNonQueryAsync();
        }
        var net = await SettledNetworkAsync("guarded");
        var guard = ReconciliationRepair.ResendGuardSql.Replace("{table}", "networks", StringComparison.Ordinal)
            .Replace("@id", "$1", StringComparison.Ordinal).Replace("@applied", "$2", StringComparison.Ordinal).Replace("@since", "$3", StringComparison.Ordinal);

        await using var connection = await DataSource.OpenConnectionAsync();
        foreach (var sql in new[] { $"set plan_cache_mode = {planCacheMode}", $"prepare guard(uuid, bigint, timestamptz) as {guard}" })
        {
            await using var setUp = new NpgsqlCommand(sql, connection);
            await setUp.ExecuteNonQueryAsync();
        }
        // A literal: EXPLAIN, a utility statement, takes no protocol parameters.
        await using var explain = new NpgsqlCommand($"explain (analyze, costs off, timing off) execute guard('{net}', 1, now() - interval '10 minutes')", connection);
        var plan = new List<string>();
        await using (var reader = await explain.ExecuteReaderAsync())
        {
            while (await reader.ReadAsync())
            {
                plan.Add(reader.GetString(0));
            }
        }

        var text = string.Join('\n', plan);
        Assert.DoesNotContain("Seq Scan on outbox_entries", text);
        Assert.Contains("outbox_resource_completed", text);
        Assert.Contains("LockRows (actual rows=1 loops=1)", text, StringComparison.Ordinal);
    }

    private static ReconciliationFinding Finding(string kind, Guid id, long? applied = null, long? backEnd = null) =>
        new(kind, "network", id, applied, backEnd);

    /// <summary>A network created, confirmed and finished well before any run in the test began.</summary>
    private async Task<Guid> SettledNetworkAsync(string name)
    {
        var id = await Scenario.CreateNetworkAsync(name);
        await using var cmd = DataSource.CreateCommand("""
            update networks set status = 'ACTIVE', applied_revision = revision_number where id = @id;
            update outbox_entries set state = 'done', completed_at = now() - interval '1 hour' where resource_id = @id
            """);
        cmd.Parameters.AddWithValue("id", id);
        await cmd.ExecuteNonQueryAsync();
        return id;
    }

    private async Task SettleAsync(Guid id)
    {
        await using var cmd = DataSource.CreateCommand("update outbox_entries set state = 'done', completed_at = clock_timestamp() where resource_id = @id and state = 'pending'");
        cmd.Parameters.AddWithValue("id", id);
        await cmd.ExecuteNonQueryAsync();
    }

    private async Task<DateTimeOffset> DatabaseNowAsync()
    {
        await using var cmd = DataSource.CreateCommand("select clock_timestamp()");
        await using var r = await cmd.ExecuteReaderAsync();
        await r.ReadAsync();
        return r.GetFieldValue<DateTimeOffset>(0);
    }
}
