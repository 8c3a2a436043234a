using System.Net.Http.Json;
using System.Text.Json.Nodes;
using OutboxSync.Worker.Tests.Support;

namespace OutboxSync.Worker.Tests.EndToEnd;

/// <summary>
/// An operator brings a resource out of ERROR through the real API process: the back end (real simulator)
/// rejects a change for good, the cause is fixed, and a retry or a resync makes the resource ACTIVE, each recorded
/// in the audit log with who did it to what.
/// </summary>
[Collection(nameof(EndToEndCollection))]
public sealed class OperatorRecoveryTests : SimulatorBackedTests
{
    private ApiProcess _api = null!;
    private WorkerHost _worker = null!;

    protected override async Task SetUpAsync()
    {
        await base.SetUpAsync();
        _api = await ApiProcess.StartAsync(Database.ConnectionString);
        _worker = await WorkerHost.StartAsync(Database, Simulator.BaseUrl.ToString());
    }

    protected override async Task TearDownAsync()
    {
        await _worker.DisposeAsync();
        await _api.DisposeAsync();
        await base.TearDownAsync();
    }

    [Fact]
    public async Task Retrying_a_rejected_entry_after_the_cause_is_fixed_makes_the_resource_active_and_is_audited()
    {
        var (id, seq) = await RejectedNetworkAsync("doomed-by-retry");

        using var retry = await _api.Http.PostAsync($"admin/v1/outbox/{seq}/retry", JsonContent.Create(new JsonObject()));
        Assert.True(retry.IsSuccessStatusCode, $"retry: {(int)retry.StatusCode} {await retry.Content.ReadAsStringAsync()}");

        await _api.WaitForStatusAsync("networks", "network", id, "ACTIVE");
        Assert.Contains(id, (await Simulator.ListAsync("networks")).Keys);
        await AssertAuditedAsync("retry", $"outbox/{seq}");
        Assert.Empty(await FailedEntriesAsync(id));
    }

    [Fact]
    public async Task Resyncing_a_resource_in_error_after_the_cause_is_fixed_makes_it_active_and_is_audited()
    {
        var (id, _) = await RejectedNetworkAsync("doomed-by-resync");

        using var resync = await _api.Http.PostAsync($"admin/v1/resources/network/{id}/resync", JsonContent.Create(new JsonObject()));
        Assert.True(resync.IsSuccessStatusCode, $"resync: {(int)resync.StatusCode} {await resync.Content.ReadAsStringAsync()}");

        await _api.WaitForStatusAsync("networks", "network", id, "ACTIVE");
        Assert.Contains(id, (await Simulator.ListAsync("networks")).Keys);
        await AssertAuditedAsync("resync", $"network/{id}");
    }

    /// <summary>A network the back end refuses for good (its name carries the rejection marker); once it is in ERROR
    /// the marker is switched off, as if the operator fixed the cause at the back end.</summary>
    private async Task<(Guid Id, long Seq)> RejectedNetworkAsync(string marker)
    {
        await Simulator.SetFaultsAsync(new { reject_name_substring = marker });
        var id = await _api.CreateAsync("networks", "network", new JsonObject { ["name"] = $"{marker}-net" });
        await _api.WaitForStatusAsync("networks", "network", id, "ERROR");
        var failed = Assert.Single(await FailedEntriesAsync(id));
        Assert.Contains("rejected", failed!["last_error"]!.GetValue<string>(), StringComparison.Ordinal);
        await Simulator.SetFaultsAsync(new { reject_name_substring = (string?)null });
        return (id, failed["seq"]!.GetValue<long>());
    }

    private async Task<JsonArray> FailedEntriesAsync(Guid id) =>
        (await _api.Http.GetFromJsonAsync<JsonObject>($"admin/v1/outbox?state=failed&resource_id={id}"))!["entries"]!.AsArray();

    private async Task AssertAuditedAsync(string action, string target)
    {
        var audit = (await _api.Http.GetFromJsonAsync<JsonObject>("admin/v1/audit"))!["audit"]!.AsArray();
        Assert.Contains(audit, a => a!["action"]!.GetValue<string>() == action
            && a["target"]!.GetValue<string>() == target
            && a["actor"]!.GetValue<string>() == ApiProcess.OperatorName);
    }
}
