using static OutboxSync.Api.Tests.Infrastructure.Neutron;

namespace OutboxSync.Api.Tests.Operator;

/// <summary>What each operator action does to the outbox, the resource and the audit trail (the worker is not part
/// of these tests; tests/Worker.Tests/EndToEnd carries them through to the back end).</summary>
public sealed class OperatorActionsTests(ApiFactory api) : IClassFixture<ApiFactory>
{
    [Fact]
    public async Task Retry_queues_the_failed_change_as_a_new_entry_due_now_by_the_database_clock_with_fresh_attempts_and_audits_it()
    {
        var (id, seq) = await FailedNetworkAsync();

        var body = (await api.Admin.PostAsync($"/admin/v1/outbox/{seq}/retry", new JsonObject())).Expect(HttpStatusCode.OK).Json;

        // A new seq is a new Idempotency-Key: under the old one the back end would replay its cached final answer.
        var retriedAs = body["retried_as"]!.GetValue<long>();
        Assert.True(retriedAs > seq);
        Assert.Equal("superseded", body["state"]!.GetValue<string>());
        Assert.True(await api.Db.ScalarAsync<bool>(
            "select state = 'superseded' and last_error = 'back end said no' and completed_at <= clock_timestamp() from outbox_entries where seq = $1", seq));
        Assert.True(await api.Db.ScalarAsync<bool>("""
            select n.state = 'pending' and n.attempts = 0 and n.last_error is null and n.completed_at is null
                   and n.next_attempt_at <= clock_timestamp()
                   and (n.resource_id, n.operation, n.revision, n.payload, n.depends_on) = (o.resource_id, o.operation, o.revision, o.payload, o.depends_on)
                   and n.trace_parent is not distinct from o.trace_parent
            from outbox_entries n, outbox_entries o where n.seq = $1 and o.seq = $2
            """, retriedAs, seq));
        Assert.Equal("PENDING_CREATE", await api.Db.ScalarAsync<string>("select status from networks where id = $1", id));
        await AssertAuditedAsync("retry", $"outbox/{seq}");
        (await api.Admin.PostAsync($"/admin/v1/outbox/{seq}/retry", new JsonObject())).ExpectNeutronError(HttpStatusCode.Conflict, "OutboxEntryNotFailed");
    }

    [Fact]
    public async Task Discard_finishes_the_entry_by_the_database_clock_and_marks_the_resource_error_naming_the_operator()
    {
        var network = await api.P1.CreateNetworkAsync();
        var id = Guid.Parse(Id(network));
        var seq = (await api.Db.OutboxForAsync(id)).Single().Seq;

        (await api.Admin.PostAsync($"/admin/v1/outbox/{seq}/discard", new JsonObject())).Expect(HttpStatusCode.OK);

        Assert.True(await api.Db.ScalarAsync<bool>(
            "select state = 'discarded' and completed_at <= clock_timestamp() from outbox_entries where seq = $1", seq));
        var reason = await api.Db.ScalarAsync<string>("select status || ': ' || status_reason from networks where id = $1", id);
        Assert.StartsWith("ERROR: ", reason, StringComparison.Ordinal);
        Assert.Contains("discarded by operator", reason, StringComparison.Ordinal);
        await AssertAuditedAsync("discard", $"outbox/{seq}");
        (await api.Admin.PostAsync($"/admin/v1/outbox/{seq}/discard", new JsonObject())).ExpectNeutronError(HttpStatusCode.Conflict);
    }

    [Fact]
    public async Task Resync_of_a_resource_in_error_enqueues_its_current_state_and_refuses_one_that_is_not()
    {
        var (id, _) = await FailedNetworkAsync();
        await api.Db.ExecuteAsync("update networks set status = 'ERROR', status_reason = 'back end said no' where id = $1", id);

        var body = (await api.Admin.PostAsync($"/admin/v1/resources/network/{id}/resync", new JsonObject())).Expect(HttpStatusCode.OK).Json;

        Assert.Equal("create", body["operation"]!.GetValue<string>());
        var entry = (await api.Db.OutboxForAsync(id)).Last();
        Assert.Equal(("create", "pending"), (entry.Operation, entry.State));
        Assert.Equal(id.ToString(), entry.Payload["id"]!.GetValue<string>());
        Assert.Equal("PENDING_CREATE", await api.Db.ScalarAsync<string>("select status from networks where id = $1", id));
        await AssertAuditedAsync("resync", $"network/{id}");
        (await api.Admin.PostAsync($"/admin/v1/resources/network/{id}/resync", new JsonObject())).ExpectNeutronError(HttpStatusCode.Conflict);
        (await api.Admin.PostAsync($"/admin/v1/resources/flavor/{id}/resync", new JsonObject())).ExpectNeutronError(HttpStatusCode.BadRequest);
        (await api.Admin.PostAsync($"/admin/v1/resources/network/{Guid.NewGuid()}/resync", new JsonObject())).ExpectNeutronError(HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task Requesting_a_reconciliation_queues_one_run_and_audits_it()
    {
        var response = (await api.Admin.PostAsync("/admin/v1/reconciliations", new JsonObject())).Expect(HttpStatusCode.Accepted);
        var run = response.Json["id"]!.GetValue<long>();

        Assert.Equal("requested", await api.Db.ScalarAsync<string>("select state from reconciliation_runs where id = $1", run));
        await AssertAuditedAsync("reconcile", $"reconciliation/{run}");
        var latest = (await api.Admin.GetAsync("/admin/v1/reconciliations/latest")).Expect(HttpStatusCode.OK).Item("reconciliation");
        Assert.True(latest["id"]!.GetValue<long>() >= run);
    }

    private async Task<(Guid Id, long Seq)> FailedNetworkAsync()
    {
        var id = Guid.Parse(Id(await api.P1.CreateNetworkAsync()));
        var seq = (await api.Db.OutboxForAsync(id)).Single().Seq;
        await api.Db.ExecuteAsync(
            "update outbox_entries set state = 'failed', attempts = 9, last_error = 'back end said no', completed_at = now(), next_attempt_at = now() + interval '1 day' where seq = $1", seq);
        return (id, seq);
    }

    private async Task AssertAuditedAsync(string action, string target)
    {
        var audit = (await api.Admin.GetAsync("/admin/v1/audit")).Expect(HttpStatusCode.OK).Items("audit");
        Assert.Contains(audit, a => a!["action"]!.GetValue<string>() == action && a["target"]!.GetValue<string>() == target
            && a["actor"]!.GetValue<string>().Length > 0);
    }
}
