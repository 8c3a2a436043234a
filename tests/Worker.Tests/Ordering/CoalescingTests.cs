using OutboxSync.Outbox;
using OutboxSync.Worker.Ordering;

namespace OutboxSync.Worker.Tests.Ordering;

public sealed class CoalescingTests
{
    private static readonly Guid Id = Guid.NewGuid();
    private static long _seq;

    private static PendingEntry Entry(string op, long revision, bool due = true, bool dispatched = false, string? payload = null, string type = "network") =>
        new(Interlocked.Increment(ref _seq), type, Id, op, revision, payload ?? $$"""{"name":"r{{revision}}"}""", "p1", [], null, 0, null, due, dispatched);

    private static ResourceBacklog Backlog(IReadOnlyList<PendingEntry> pending, long applied = 0, bool everDispatched = false) =>
        new(Id, pending, new ResourceRowState("network", "PENDING_UPDATE", pending.Max(e => e.Revision), applied), everDispatched);

    [Fact]
    public void Nothing_pending_or_a_head_not_yet_due_is_idle()
    {
        Assert.IsType<DrainStep.Idle>(Coalescing.Plan(new ResourceBacklog(Id, [], null, false)));
        Assert.IsType<DrainStep.Idle>(Coalescing.Plan(Backlog([Entry("update", 2, due: false), Entry("update", 3)])));
    }

    [Fact]
    public void A_create_followed_by_updates_sends_one_create_with_the_latest_state()
    {
        var entries = new[] { Entry("create", 1), Entry("update", 2), Entry("update", 3) };
        var step = Assert.IsType<DrainStep.Send>(Coalescing.Plan(Backlog(entries)));
        Assert.Equal("create", step.Operation);
        Assert.Same(entries[2], step.Entry);
        Assert.Equal([entries[0].Seq, entries[1].Seq], step.Covered.Select(e => e.Seq));
        Assert.True(step.CarriesUpdates);
    }

    [Fact]
    public void Consecutive_updates_send_only_the_last()
    {
        var entries = new[] { Entry("update", 4), Entry("update", 5), Entry("update", 6) };
        var step = Assert.IsType<DrainStep.Send>(Coalescing.Plan(Backlog(entries, applied: 3)));
        Assert.Equal(("update", 6L), (step.Operation, step.Entry.Revision));
        Assert.Equal(2, step.Covered.Count);
        Assert.False(step.CarriesUpdates);
    }

    [Fact]
    public void A_never_dispatched_create_followed_by_delete_is_cancelled_with_the_create_run_as_fallback()
    {
        var entries = new[] { Entry("create", 1), Entry("update", 2), Entry("delete", 2) };
        var cancel = Assert.IsType<DrainStep.Cancel>(Coalescing.Plan(Backlog(entries)));
        Assert.Same(entries[2], cancel.Delete);
        Assert.Equal(2, cancel.Covered.Count);
        Assert.Equal("create", Assert.IsType<DrainStep.Send>(cancel.Fallback).Operation);
    }

    [Fact]
    public void A_create_that_may_have_reached_the_back_end_is_deleted_rather_than_cancelled()
    {
        var entries = new[] { Entry("create", 1, dispatched: true), Entry("delete", 1) };
        var step = Assert.IsType<DrainStep.Send>(Coalescing.Plan(Backlog(entries, everDispatched: true)));
        Assert.Equal("delete", step.Operation);
        Assert.Single(step.Covered);
        Assert.NotNull(step.Fallback);
    }

    [Fact]
    public void Updates_followed_by_a_delete_send_only_the_delete()
    {
        var entries = new[] { Entry("update", 2), Entry("update", 3), Entry("delete", 3) };
        var step = Assert.IsType<DrainStep.Send>(Coalescing.Plan(Backlog(entries, applied: 1, everDispatched: true)));
        Assert.Equal("delete", step.Operation);
        Assert.Equal(2, step.Covered.Count);
    }

    [Fact]
    public void Interface_operations_are_never_merged()
    {
        var router = Guid.NewGuid();
        var subnet = Guid.NewGuid();
        var add = Entry("add_interface", 1, payload: $$"""{"router_id":"{{router}}","subnet_id":"{{subnet}}"}""", type: "port");
        var step = Assert.IsType<DrainStep.Send>(Coalescing.Plan(Backlog([add, Entry("update", 2, type: "port")])));
        Assert.Equal("add_interface", step.Operation);
        Assert.Empty(step.Covered);
    }

    [Theory]
    [InlineData("update", "\"a string\"", "not an object")]
    [InlineData("update", "[1,2]", "not an object")]
    [InlineData("add_interface", """{"subnet_id":"x"}""", "router_id")]
    public void A_malformed_head_is_poison(string op, string payload, string reason)
    {
        var poison = Assert.IsType<DrainStep.Poison>(Coalescing.Plan(Backlog([Entry(op, 2, payload: payload, type: "port")])));
        Assert.Contains(reason, poison.Reason);
    }

    [Fact]
    public void A_malformed_update_ends_the_run_so_it_is_judged_on_its_own()
    {
        var entries = new[] { Entry("update", 2), Entry("update", 3, payload: "\"bad\""), Entry("update", 4) };
        var step = Assert.IsType<DrainStep.Send>(Coalescing.Plan(Backlog(entries, applied: 1)));
        Assert.Same(entries[0], step.Entry);
    }

    [Fact]
    public void A_run_not_newer_than_the_applied_revision_is_superseded_without_a_call()
    {
        var entries = new[] { Entry("update", 3), Entry("update", 4) };
        var step = Assert.IsType<DrainStep.AlreadyApplied>(Coalescing.Plan(Backlog(entries, applied: 5)));
        Assert.Same(entries[1], step.Entry);
        Assert.Single(step.Covered);
    }
}
