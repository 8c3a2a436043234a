using Microsoft.Extensions.Options;
using Npgsql;
using OutboxSync.Persistence;
using OutboxSync.Leases;
using OutboxSync.Outbox;
using OutboxSync.Worker.Tests.Support;

namespace OutboxSync.Worker.Tests.Outbox;

public sealed class OutboxClaimAndCompletionTests : DatabaseBackedTests
{
    private OutboxCompletion _completion = null!;
    private LeaseStore _leases = null!;
    private OutboxClaim _claim = null!;

    protected override Task SetUpAsync()
    {
        _completion = new OutboxCompletion(DataSource);
        _leases = new LeaseStore(DataSource, Options.Create(new LeaseOptions()), TimeProvider.System);
        _claim = new OutboxClaim(DataSource, _leases);
        return Task.CompletedTask;
    }

    [Fact]
    public async Task The_claim_takes_the_oldest_due_heads_bounded_and_skips_live_leases()
    {
        var nets = new List<Guid>();
        for (var i = 0; i < 5; i++)
        {
            nets.Add(await Scenario.CreateNetworkAsync($"n{i}"));
        }
        await _leases.AcquireAsync(nets[1], "someone");

        var claim = await _claim.ClaimDueAsync(3, "me", [], 100);

        // The three oldest heads nobody holds; the fifth waits for the next pass.
        Assert.Equal(new HashSet<Guid> { nets[0], nets[2], nets[3] }, claim.Won.Select(r => r.Lease.ResourceId).ToHashSet());
        Assert.Equal(3, claim.Due);
    }

    [Fact]
    public async Task A_claim_that_loses_a_due_resource_to_another_replica_reports_it_as_due_so_the_loop_claims_again()
    {
        var net = await Scenario.CreateNetworkAsync("contended");
        // Another replica's acquire of the same resource, not yet committed: our claim sees it due and waits on it.
        await using var other = await DataSource.OpenConnectionAsync();
        await using var tx = await other.BeginTransactionAsync();
        await using (var take = new Npgsql.NpgsqlCommand("""
            insert into resource_leases (resource_id, holder, token, acquired_at, expires_at)
            values (@id, 'other', nextval('fencing_tokens'), clock_timestamp(), clock_timestamp() + interval '1 minute')
            """, other, tx))
        {
            take.Parameters.AddWithValue("id", net);
            await take.ExecuteNonQueryAsync();
        }

        var claiming = _claim.ClaimDueAsync(4, "me", [], 100);
        await Eventually.WaitAsync(async () =>
        {
            await using var waiting = DataSource.CreateCommand("select count(*) from pg_locks where not granted");
            return (long)(await waiting.ExecuteScalarAsync())!;
        }, n => n > 0, TimeSpan.FromSeconds(10), "the claim to wait on the other replica's lease");
        await tx.CommitAsync();
        var claim = await claiming;

        Assert.Empty(claim.Won);
        Assert.Equal(1, claim.Due);
    }

    [Fact]
    public async Task The_claim_leaves_out_the_resources_the_caller_is_still_finishing()
    {
        var a = await Scenario.CreateNetworkAsync("finishing");
        var b = await Scenario.CreateNetworkAsync("fresh");

        var claim = await _claim.ClaimDueAsync(5, "me", [a], 100);

        Assert.Equal([b], claim.Won.Select(r => r.Lease.ResourceId));
    }

    [Fact]
    public async Task The_claim_reads_each_won_resource_backlog_as_a_later_read_would()
    {
        var net = await Scenario.CreateNetworkAsync("claimed");
        await Scenario.UpdateNetworkAsync(net, "renamed");
        await Scenario.UpdateNetworkAsync(net, "renamed again");
        var other = await Scenario.CreateNetworkAsync("other");

        var claim = await _claim.ClaimDueAsync(5, "me", [], 2);

        var claimed = claim.Won.Single(r => r.Lease.ResourceId == net).Backlog;
        var read = await _claim.ReadBacklogAsync(net, 2);
        // The same entries (bounded by the backlog limit), row and history; only the claim's own mark differs.
        Assert.Equal(read.Pending.Select(e => e with { Dispatched = false }), claimed.Pending.Select(e => e with { Dispatched = false }));
        Assert.Equal(2, claimed.Pending.Count);
        Assert.Equal(read.Row, claimed.Row);
        Assert.Equal(read.EverDispatched, claimed.EverDispatched);
        Assert.Single(claim.Won.Single(r => r.Lease.ResourceId == other).Backlog.Pending);
    }

    [Fact]
    public async Task The_claim_marks_a_won_create_dispatched_unless_a_delete_is_pending_behind_it()
    {
        var plain = await Scenario.CreateNetworkAsync("plain");
        var doomed = await Scenario.CreateNetworkAsync("doomed");
        await Scenario.DeleteNetworkAsync(doomed);
        var held = await Scenario.CreateNetworkAsync("held elsewhere");
        await _leases.AcquireAsync(held, "someone");

        var claim = await _claim.ClaimDueAsync(5, "me", [], 100);

        var plainBacklog = claim.Won.Single(r => r.Lease.ResourceId == plain).Backlog;
        Assert.True(plainBacklog.Pending[0].Dispatched);
        Assert.True(plainBacklog.EverDispatched);
        Assert.True(await DispatchedAsync(plain));
        // A never-sent create with a delete behind it stays cancellable without a call.
        var doomedBacklog = claim.Won.Single(r => r.Lease.ResourceId == doomed).Backlog;
        Assert.False(doomedBacklog.EverDispatched);
        Assert.False(await DispatchedAsync(doomed));
        // Nothing is marked for a resource the claim did not win.
        Assert.False(await DispatchedAsync(held));
    }

    private async Task<bool> DispatchedAsync(Guid resourceId)
    {
        await using var cmd = DataSource.CreateCommand("select bool_or(dispatched_at is not null) from outbox_entries where resource_id = @id");
        cmd.Parameters.AddWithValue("id", resourceId);
        return (bool)(await cmd.ExecuteScalarAsync())!;
    }

    [Fact]
    public async Task A_resource_whose_head_backs_off_is_not_due_even_when_later_entries_are()
    {
        var net = await Scenario.CreateNetworkAsync("backing-off");
        var lease = (await _leases.AcquireAsync(net, "me"))!;
        var head = (await Scenario.EntriesAsync(net))[0].Seq;
        await _completion.RescheduleAsync(lease, [head], TimeSpan.FromMinutes(5), "boom", countAttempt: true);
        await _leases.ReleaseAsync(lease);
        await Scenario.UpdateNetworkAsync(net, "later");

        Assert.Equal(0, (await _claim.ClaimDueAsync(10, "me", [], 100)).Due);
        var entries = await Scenario.EntriesAsync(net);
        Assert.Equal((1, "boom"), (entries[0].Attempts, entries[0].LastError));
    }

    [Fact]
    public async Task Confirming_a_delete_of_a_row_still_referenced_keeps_it_as_error_instead_of_failing()
    {
        var net = await Scenario.CreateNetworkAsync("parent");
        await Scenario.CreateSubnetAsync(net);
        var seq = await Scenario.AppendRawAsync("network", net, "delete", 1, "{}", []);
        var lease = (await _leases.AcquireAsync(net, "me"))!;

        var result = await _completion.ConfirmAsync(lease, new Confirmation("network", seq, [], 1, RemoveRow: true));

        Assert.Equal(CompletionResult.Written, result);
        var row = (await Scenario.ResourceAsync("networks", net))!.Value;
        Assert.Equal("ERROR", row.Status);
        Assert.Contains("still referenced", row.Reason);
        Assert.Equal("done", (await Scenario.EntriesAsync(net)).Single(e => e.Seq == seq).State);
    }

    [Fact]
    public async Task Confirming_an_older_revision_never_moves_applied_revision_back_or_marks_a_newer_desire_active()
    {
        var net = await Scenario.CreateNetworkAsync("n");
        await Scenario.UpdateNetworkAsync(net, "n2");
        var entries = await Scenario.EntriesAsync(net);
        var lease = (await _leases.AcquireAsync(net, "me"))!;

        await _completion.ConfirmAsync(lease, new Confirmation("network", entries[0].Seq, [], 1, RemoveRow: false));
        var afterFirst = (await Scenario.ResourceAsync("networks", net))!.Value;
        Assert.Equal(("PENDING_CREATE", 1L), (afterFirst.Status, afterFirst.Applied));

        await _completion.ConfirmAsync(lease, new Confirmation("network", entries[1].Seq, [], 2, RemoveRow: false));
        await _completion.ConfirmAsync(lease, new Confirmation("network", entries[0].Seq, [], 1, RemoveRow: false));
        var row = (await Scenario.ResourceAsync("networks", net))!.Value;
        Assert.Equal(("ACTIVE", 2L), (row.Status, row.Applied));
    }

    [Fact]
    public async Task A_confirmation_never_turns_a_pending_delete_active()
    {
        var net = await Scenario.CreateNetworkAsync("n");
        var create = (await Scenario.EntriesAsync(net))[0].Seq;
        await Scenario.DeleteNetworkAsync(net);
        var lease = (await _leases.AcquireAsync(net, "me"))!;

        await _completion.ConfirmAsync(lease, new Confirmation("network", create, [], 1, RemoveRow: false));

        Assert.Equal("PENDING_DELETE", (await Scenario.ResourceAsync("networks", net))!.Value.Status);
    }

    [Fact]
    public async Task A_confirmation_that_leaves_nothing_pending_gives_the_lease_up_in_its_own_transaction()
    {
        var net = await Scenario.CreateNetworkAsync("last");
        var seq = (await Scenario.EntriesAsync(net))[0].Seq;
        var lease = (await _leases.AcquireAsync(net, "me"))!;

        var result = await _completion.ConfirmAsync(lease, new Confirmation("network", seq, [], 1, RemoveRow: false) { ReleaseWhenIdle = true });

        Assert.Equal(CompletionResult.Released, result);
        Assert.True(lease.IsLost);
        Assert.Equal("ACTIVE", (await Scenario.ResourceAsync("networks", net))!.Value.Status);
        // The row is gone, so anyone may take the resource at once, with a newer token.
        var next = await _leases.AcquireAsync(net, "other");
        Assert.True(next!.Token.Value > lease.Token.Value);
    }

    [Fact]
    public async Task A_confirmation_keeps_the_lease_while_an_entry_is_still_pending_even_one_backing_off()
    {
        var net = await Scenario.CreateNetworkAsync("more");
        await Scenario.UpdateNetworkAsync(net, "more2");
        var entries = await Scenario.EntriesAsync(net);
        var lease = (await _leases.AcquireAsync(net, "me"))!;
        await _completion.RescheduleAsync(lease, [entries[1].Seq], TimeSpan.FromMinutes(5), "later", countAttempt: false);

        var result = await _completion.ConfirmAsync(lease, new Confirmation("network", entries[0].Seq, [], 1, RemoveRow: false) { ReleaseWhenIdle = true });

        Assert.Equal(CompletionResult.Written, result);
        Assert.False(lease.IsLost);
        Assert.Null(await _leases.AcquireAsync(net, "other"));
        Assert.Equal(LeaseRelease.Released, await _leases.ReleaseAsync(lease));
    }

    [Fact]
    public async Task A_confirmation_after_the_lease_ran_out_releases_it_and_says_so()
    {
        var net = await Scenario.CreateNetworkAsync("late");
        var seq = (await Scenario.EntriesAsync(net))[0].Seq;
        var lease = (await _leases.AcquireAsync(net, "me"))!;
        await using (var expire = DataSource.CreateCommand("update resource_leases set expires_at = clock_timestamp() - interval '1 second' where resource_id = @id"))
        {
            expire.Parameters.AddWithValue("id", net);
            await expire.ExecuteNonQueryAsync();
        }

        var result = await _completion.ConfirmAsync(lease, new Confirmation("network", seq, [], 1, RemoveRow: false) { ReleaseWhenIdle = true });

        Assert.Equal(CompletionResult.ReleasedAfterExpiry, result);
    }

    [Fact]
    public async Task One_entry_dispatch_and_confirmation_are_planned_once_per_connection_not_per_execution()
    {
        // One pooled connection, so every execution lands on the same server session and its prepared statements.
        await using var single = NpgsqlDataSource.Create(new NpgsqlConnectionStringBuilder(ConnectionDefaults.Apply(Database.ConnectionString, "test"))
        {
            MaxPoolSize = 1,
        }.ConnectionString);
        var completion = new OutboxCompletion(single);
        var leases = new LeaseStore(single, Options.Create(new LeaseOptions()), TimeProvider.System);
        const int Steps = 15;
        for (var i = 0; i < Steps; i++)
        {
            var net = await Scenario.CreateNetworkAsync($"plan-{i}");
            var seq = (await Scenario.EntriesAsync(net))[0].Seq;
            var lease = (await leases.AcquireAsync(net, "me"))!;
            Assert.Equal(CompletionResult.Written, await completion.MarkDispatchedAsync(lease, [seq]));
            Assert.Equal(CompletionResult.Released,
                await completion.ConfirmAsync(lease, new Confirmation("network", seq, [], 1, RemoveRow: false) { ReleaseWhenIdle = true }));
        }

        await using var conn = await single.OpenConnectionAsync();
        await using var plans = new NpgsqlCommand("""
            select statement, generic_plans, custom_plans from pg_prepared_statements
            where statement like 'update outbox_entries set dispatched_at%' or statement like 'update outbox_entries set state%'
            """, conn);
        var found = new List<(string Sql, long Generic, long Custom)>();
        await using (var reader = await plans.ExecuteReaderAsync())
        {
            while (await reader.ReadAsync())
            {
                found.Add((reader.GetString(0), reader.GetInt64(1), reader.GetInt64(2)));
            }
        }
        // Both statements were prepared (Npgsql prepares after five uses); PostgreSQL plans a prepared statement
        // five times before it compares, then keeps the generic plan unless custom plans look cheaper.
        Assert.Equal(2, found.Count);
        Assert.All(found, p => Assert.True(p.Generic > 0 && p.Custom <= 5,
            $"planned anew per execution ({p.Custom} custom, {p.Generic} generic plans): {p.Sql}"));
    }

    [Fact]
    public async Task The_claim_reads_the_live_leases_once_not_once_per_head_in_flight()
    {
        var nets = new List<Guid>();
        for (var i = 0; i < 40; i++)
        {
            nets.Add(await Scenario.CreateNetworkAsync($"busy-{i}"));
        }
        // The 32 oldest heads are in flight: each claim walks past them before it reaches a free one.
        Assert.Equal(32, (await _leases.AcquireAsync(nets.Take(32), "elsewhere")).Count);
        await using (var analyze = DataSource.CreateCommand("analyze outbox_entries; analyze resource_leases"))
        {
            await analyze.ExecuteNonQueryAsync();
        }

        await using var explain = DataSource.CreateCommand("explain (analyze, costs off) " + OutboxClaim.DueResourcesQuery(1));
        explain.Parameters.Add(new NpgsqlParameter<Guid[]>("skip", NpgsqlTypes.NpgsqlDbType.Array | NpgsqlTypes.NpgsqlDbType.Uuid) { TypedValue = [] });
        var plan = new List<string>();
        await using (var reader = await explain.ExecuteReaderAsync())
        {
            while (await reader.ReadAsync())
            {
                plan.Add(reader.GetString(0));
            }
        }

        var text = string.Join('\n', plan);
        Assert.Contains("hashed SubPlan", text);
        Assert.Equal([nets[32]], (await _claim.ClaimDueAsync(1, "me", [], 100)).Won.Select(r => r.Lease.ResourceId));
    }

    [Fact]
    public async Task The_claim_is_never_compiled_by_jit_however_costly_it_is_estimated()
    {
        await using (var burst = DataSource.CreateCommand("""
            insert into outbox_entries (resource_type, resource_id, operation, revision, payload, project_id)
            select 'network', gen_random_uuid(), 'create', 1, '{}', 'p' from generate_series(1, 100)
            """))
        {
            await burst.ExecuteNonQueryAsync();
        }
        // One connection where every plan passes the JIT threshold, the claim prepared at its first run and planned
        // generically, as a drain's connection keeps it: the plan made now is the one every later claim reuses.
        var settings = new NpgsqlConnectionStringBuilder(Database.ConnectionString)
        {
            MaxPoolSize = 1,
            MaxAutoPrepare = 8,
            AutoPrepareMinUsages = 1,
            Options = "-c jit=on -c jit_above_cost=0 -c plan_cache_mode=force_generic_plan",
        };
        await using var drainSource = NpgsqlDataSource.Create(settings.ConnectionString);
        var claim = new OutboxClaim(drainSource, new LeaseStore(drainSource, Options.Create(new LeaseOptions()), TimeProvider.System));
        Assert.Equal(9, (await claim.ClaimDueAsync(9, "me", [], 100)).Won.Count);

        await using var connection = await drainSource.OpenConnectionAsync();
        await using (var available = new NpgsqlCommand("select pg_jit_available()", connection))
        {
            Assert.True((bool)(await available.ExecuteScalarAsync())!, "this test needs a PostgreSQL built with JIT (Debian's is)");
        }
        string name;
        int parameters;
        await using (var find = new NpgsqlCommand(
            "select name, cardinality(parameter_types) from pg_prepared_statements where statement like '%with candidates as%' and statement not like '%pg_prepared_statements%'", connection))
        await using (var reader = await find.ExecuteReaderAsync())
        {
            Assert.True(await reader.ReadAsync(), "the claim was not prepared on the drain's connection");
            name = reader.GetString(0);
            parameters = reader.GetInt32(1);
        }
        var plan = new List<string>();
        await using (var explain = new NpgsqlCommand(
            $"explain execute {name}({string.Join(", ", Enumerable.Repeat("null", parameters))})", connection))
        await using (var reader = await explain.ExecuteReaderAsync())
        {
            while (await reader.ReadAsync())
            {
                plan.Add(reader.GetString(0));
            }
        }

        // Compiling the claim cost 100-160 ms per claim for 2 ms of work on large tables.
        Assert.DoesNotContain("JIT", string.Join('\n', plan));
    }
}
