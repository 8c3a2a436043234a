using Microsoft.Extensions.Options;
using OutboxSync.Leases;
using OutboxSync.Outbox;
using OutboxSync.Worker.Tests.Support;

namespace OutboxSync.Worker.Tests.Outbox;

public sealed class OutboxClaimAndCompletionTests : DatabaseBackedTests
{
    private OutboxClaim _claim = null!;
    private OutboxCompletion _completion = null!;
    private LeaseStore _leases = null!;

    protected override Task SetUpAsync()
    {
        _claim = new OutboxClaim(DataSource);
        _completion = new OutboxCompletion(DataSource);
        _leases = new LeaseStore(DataSource, Options.Create(new LeaseOptions()), TimeProvider.System);
        return Task.CompletedTask;
    }

    [Fact]
    public async Task Due_resources_come_oldest_head_first_bounded_and_skip_live_leases()
    {
        var nets = new List<Guid>();
        for (var i = 0; i < 5; i++)
        {
            nets.Add(await Scenario.CreateNetworkAsync($"n{i}"));
        }
        await _leases.AcquireAsync(nets[1], "someone");

        Assert.Equal([nets[0], nets[2], nets[3]], await _claim.FindDueResourcesAsync(3));
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

        Assert.Empty(await _claim.FindDueResourcesAsync(10));
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
}
