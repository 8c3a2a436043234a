using System.Diagnostics;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using OutboxSync.Hosting;
using OutboxSync.Leases;
using OutboxSync.Outbox;
using OutboxSync.Worker.Backend;
using OutboxSync.Worker.Ordering;
using OutboxSync.Worker.Retry;

namespace OutboxSync.Worker.Drain;

/// <summary>What draining one resource achieved; <paramref name="LostReason"/> says why the lease was lost (see <see cref="LeaseMetrics"/>).</summary>
/// <param name="InDoubt">The last call was abandoned without an answer; the lease must run out rather than be released.</param>
/// <param name="Released">The lease was given up with the last confirmation (nothing was left pending); the caller
/// must not release it again. <see cref="LeaseRelease.RanOut"/> when it had already expired by the database clock.</param>
public sealed record ResourceDrainSummary(int Applied, int Failed, int Cancelled, int Blocked, int Rescheduled, bool LeaseLost, string? LostReason = null,
    bool InDoubt = false, LeaseRelease? Released = null);

/// <summary>
/// Drains ONE resource under its lease: read its pending entries in seq order, coalesce, check dependencies, call
/// the back end with no database connection or transaction held, record the result in a token-guarded transaction,
/// and loop until nothing is due. Strict per-resource order holds because only the lease holder sends and it sends
/// the head first; a failure stops the resource's stream (reschedule) rather than skipping ahead.
/// </summary>
public sealed class ResourceDrainer(
    OutboxClaim claim,
    OutboxCompletion completion,
    DependencyRules rules,
    BackendPipeline backend,
    RetrySchedule retry,
    IOptions<DrainOptions> options,
    ILogger<ResourceDrainer> logger)
{
    private enum StepEnd { Progressed, Waiting, Lost, Released, ReleasedAfterExpiry }

    /// <param name="lease">The lease on the resource to drain; nothing is sent once it is no longer trusted.</param>
    /// <param name="claimed">The backlog the claim read with the lease (the first step needs no read of its own);
    /// null to read it first.</param>
    /// <param name="stopping">When cancelled, no new step starts (graceful shutdown).</param>
    /// <param name="abort">When cancelled, the in-flight call is abandoned (shutdown deadline passed).</param>
    public async Task<ResourceDrainSummary> DrainAsync(ResourceLease lease, ResourceBacklog? claimed, CancellationToken stopping, CancellationToken abort)
    {
        var tally = new Tally();
        while (!stopping.IsCancellationRequested)
        {
            if (!lease.IsTrusted)
            {
                DrainLog.LeaseLost(logger, lease.ResourceId, lease.Token.Value);
                tally.Lost = true;
                tally.LostReason = LeaseMetrics.UntrustedReason(lease);
                break;
            }
            var backlog = claimed ?? await claim.ReadBacklogAsync(lease.ResourceId, options.Value.BacklogReadLimit, abort);
            claimed = null;
            var step = Coalescing.Plan(backlog);
            if (step is DrainStep.Idle)
            {
                break;
            }
            var end = await RunStepAsync(lease, step, tally, abort);
            if (end == StepEnd.Lost)
            {
                DrainLog.LeaseLost(logger, lease.ResourceId, lease.Token.Value);
                tally.Lost = true;
                // Steps that know better (back-end answers, trust checks) set the reason; else a guarded write missed.
                tally.LostReason ??= LeaseMetrics.GuardedWrite;
                break;
            }
            if (end is StepEnd.Released or StepEnd.ReleasedAfterExpiry)
            {
                tally.Released = end == StepEnd.Released ? LeaseRelease.Released : LeaseRelease.RanOut;
                break;
            }
            if (end == StepEnd.Waiting)
            {
                break;
            }
        }
        return tally.ToSummary();
    }

    private async Task<StepEnd> RunStepAsync(ResourceLease lease, DrainStep step, Tally tally, CancellationToken ct)
    {
        if (step is DrainStep.Poison poison)
        {
            DrainLog.Failed(logger, lease.ResourceId, poison.Entry.Seq, poison.Reason, lease.Token.Value);
            tally.Failed++;
            return End(await completion.FailAsync(lease, poison.Entry.ResourceType, [poison.Entry.Seq], $"poisoned entry seq {poison.Entry.Seq}: {poison.Reason}", [], ct));
        }

        if (step is DrainStep.AlreadyApplied done)
        {
            return await SupersedeAsync(lease, done, tally, ct);
        }
        var verdict = await rules.CheckAsync(step, ct);
        if (verdict is DependencyVerdict.Blocked && Fallback(step) is { } fallback)
        {
            // The delete must wait for children, but the children may be waiting for this resource's create:
            // send the create/update run now and leave the delete for later.
            step = fallback;
            if (step is DrainStep.AlreadyApplied fallbackDone)
            {
                return await SupersedeAsync(lease, fallbackDone, tally, ct);
            }
            verdict = await rules.CheckAsync(step, ct);
        }
        var head = Head(step);
        switch (verdict)
        {
            case DependencyVerdict.Blocked blocked:
                DrainLog.Blocked(logger, lease.ResourceId, head.Seq, blocked.Why, lease.Token.Value);
                tally.Blocked++;
                var wrote = await completion.BlockAsync(lease, head.Seq, blocked.Blocker, retry.Options.BlockedRecheck, ct);
                return wrote == CompletionResult.Lost ? StepEnd.Lost : StepEnd.Waiting;
            case DependencyVerdict.ParentFailed failed:
                var seqs = Seqs(step);
                DrainLog.Failed(logger, lease.ResourceId, head.Seq, failed.Reason, lease.Token.Value);
                tally.Failed++;
                return End(await completion.FailAsync(lease, head.ResourceType, seqs, failed.Reason, [], ct));
        }

        if (step is DrainStep.Cancel cancel)
        {
            DrainLog.Cancelled(logger, lease.ResourceId, cancel.Delete.Seq, lease.Token.Value);
            tally.Cancelled++;
            return Confirmed(await completion.ConfirmAsync(lease, new Confirmation(
                cancel.Delete.ResourceType, cancel.Delete.Seq, cancel.Covered.Select(e => e.Seq).ToList(), cancel.Delete.Revision, RemoveRow: true) { ReleaseWhenIdle = true }, ct), cancel.Covered.Count);
        }
        return await SendAsync(lease, (DrainStep.Send)step, tally, ct);
    }

    private async Task<StepEnd> SendAsync(ResourceLease lease, DrainStep.Send send, Tally tally, CancellationToken ct)
    {
        var seqs = send.AllSeqs.ToList();
        // Stop acting before the database could consider the lease expired; someone else may take it next.
        if (!lease.IsTrusted)
        {
            tally.LostReason = LeaseMetrics.UntrustedReason(lease);
            return StepEnd.Lost;
        }
        // Only a create needs the mark (a delete may cancel a create never sent); the claim already marked most.
        if (send.Operation == OutboxOperation.Create && !send.All.Any(e => e.Dispatched)
            && await completion.MarkDispatchedAsync(lease, seqs, ct) == CompletionResult.Lost)
        {
            return StepEnd.Lost;
        }

        var outcome = await CallBackendAsync(lease, send, ct);
        // An abandoned call may still run at the back end: after recording it, this resource stops here and its
        // lease is left to expire, so no replica (this one included) sends for it while that call could be running.
        tally.InDoubt |= outcome.InDoubt;
        var entry = send.Entry;
        var isDelete = send.Operation is OutboxOperation.Delete or OutboxOperation.RemoveInterface;
        switch (outcome.Kind)
        {
            case BackendOutcomeKind.Applied:
            case BackendOutcomeKind.AlreadyExists:
            case BackendOutcomeKind.NotFound when isDelete:
                DrainLog.Applied(logger, send.Operation, lease.ResourceId, entry.Seq, entry.Revision, lease.Token.Value, send.Covered.Count);
                tally.Applied++;
                return Confirmed(await completion.ConfirmAsync(lease, new Confirmation(
                    entry.ResourceType, entry.Seq, send.Covered.Select(e => e.Seq).ToList(), entry.Revision,
                    RemoveRow: isDelete && !entry.DetachesOnly) { ReleaseWhenIdle = !tally.InDoubt }, ct), send.Covered.Count);

            case BackendOutcomeKind.StaleRevision:
                DrainLog.StaleRevision(logger, lease.ResourceId, entry.Seq, lease.Token.Value);
                tally.Applied++;
                return Confirmed(await completion.ConfirmAsync(lease, new Confirmation(
                    entry.ResourceType, entry.Seq, send.Covered.Select(e => e.Seq).ToList(), entry.Revision, RemoveRow: false, OutboxState.Superseded) { ReleaseWhenIdle = !tally.InDoubt }, ct), send.Covered.Count);

            case BackendOutcomeKind.StaleToken:
                await completion.RenewKeysAsync(lease, seqs, ct);
                tally.LostReason = LeaseMetrics.StaleToken;
                lease.MarkLost();
                return StepEnd.Lost;

            case BackendOutcomeKind.LeaseExpired:
                // Someone holds (or may soon hold) a newer token: write nothing and leave the resource to them.
                // The entry stays pending with its idempotency key; the next holder resends it.
                tally.LostReason = LeaseMetrics.UntrustedReason(lease);
                lease.MarkLost();
                return StepEnd.Lost;

            case BackendOutcomeKind.NotFound:
                return await FailAsync(lease, send, seqs, $"{send.Operation} of {entry.ResourceType} {entry.ResourceId} revision {entry.Revision}: absent at the back end", tally, ct);

            case BackendOutcomeKind.Rejected:
                return await FailAsync(lease, send, seqs, outcome.Detail, tally, ct);

            case BackendOutcomeKind.Outage:
            case BackendOutcomeKind.CircuitOpen:
                // The back end is down, not this entry's fault: no attempt is spent.
                return await RescheduleAsync(lease, send, seqs, retry.Options.OutageDelay, outcome.ToString(), countAttempt: false, tally, ct);

            default: // Transient, OrderingConflict
                var attempts = send.All.Max(e => e.Attempts) + 1;
                if (retry.IsExhausted(attempts))
                {
                    return await FailAsync(lease, send, seqs, $"gave up after {attempts} attempts: {outcome}", tally, ct);
                }
                return await RescheduleAsync(lease, send, seqs, retry.DelayAfter(attempts), outcome.ToString(), countAttempt: true, tally, ct);
        }
    }

    /// <summary>The back-end call of a step, as a span continuing the entry's trace (no connection held).</summary>
    private async Task<BackendOutcome> CallBackendAsync(ResourceLease lease, DrainStep.Send send, CancellationToken ct)
    {
        ActivityContext.TryParse(send.Entry.TraceParent, null, out var parent);
        using var activity = Telemetry.Source.StartActivity($"outbox {send.Operation} {send.Entry.ResourceType}", ActivityKind.Client, parent);
        activity?.SetTag("outboxsync.resource_id", lease.ResourceId.ToString());
        activity?.SetTag("outboxsync.seq", send.Entry.Seq);
        activity?.SetTag("outboxsync.fencing_token", lease.Token.Value);
        activity?.SetTag("outboxsync.covered", send.Covered.Count);
        var started = Stopwatch.GetTimestamp();

        var outcome = await backend.SendAsync(BackendRequests.For(send, lease.Token), lease, ct);
        if (outcome.Kind == BackendOutcomeKind.AlreadyExists && send.CarriesUpdates)
        {
            // An earlier attempt's create landed with an older state; bring it up to the coalesced latest.
            outcome = await backend.SendAsync(BackendRequests.UpdateAfterExisting(send, lease.Token), lease, ct);
        }
        if (send.Operation == OutboxOperation.RemoveInterface && !send.Entry.DetachesOnly
            && outcome.Kind is BackendOutcomeKind.Applied or BackendOutcomeKind.NotFound)
        {
            // Removing an interface removes its port (Neutron semantics; the row goes on confirmation). A port made
            // into an interface via port_id also exists at the back end as a port object, which would otherwise be
            // orphaned there and block its subnet's delete; one made from a subnet does not (404 = fine).
            var portDelete = await backend.SendAsync(BackendRequests.DeletePortAfterInterface(send, lease.Token), lease, ct);
            outcome = portDelete.Kind is BackendOutcomeKind.Applied or BackendOutcomeKind.NotFound ? outcome : portDelete;
        }

        activity?.SetTag("outboxsync.outcome", outcome.Kind.ToString());
        DrainMetrics.CallDuration.Record(Stopwatch.GetElapsedTime(started).TotalSeconds,
            new KeyValuePair<string, object?>("outcome", outcome.Kind.ToString()), new KeyValuePair<string, object?>("operation", send.Operation));
        return outcome;
    }

    private async Task<StepEnd> SupersedeAsync(ResourceLease lease, DrainStep.AlreadyApplied done, Tally tally, CancellationToken ct)
    {
        tally.Applied++;
        return Confirmed(await completion.ConfirmAsync(lease, new Confirmation(
            done.Entry.ResourceType, done.Entry.Seq, done.Covered.Select(e => e.Seq).ToList(), done.Entry.Revision, RemoveRow: false, OutboxState.Superseded) { ReleaseWhenIdle = !tally.InDoubt }, ct), done.Covered.Count);
    }

    private async Task<StepEnd> FailAsync(ResourceLease lease, DrainStep.Send send, IReadOnlyList<long> seqs, string reason, Tally tally, CancellationToken ct)
    {
        DrainLog.Failed(logger, lease.ResourceId, send.Entry.Seq, reason, lease.Token.Value);
        tally.Failed++;
        if (send.Operation == OutboxOperation.Create)
        {
            // A create run stays failed as a whole: retrying only its last entry would send an update of an object
            // the back end never got, so the operator needs the create entry retryable too.
            return End(await completion.FailAsync(lease, send.Entry.ResourceType, seqs, reason, [], ct));
        }
        // The call carried the covered entries' change in full (updates folded into the latest, or a delete after
        // them): only the sent entry failed, the folded ones were superseded by it.
        return End(await completion.FailAsync(lease, send.Entry.ResourceType, [send.Entry.Seq], reason,
            send.Covered.Select(e => e.Seq).ToList(), ct));
    }

    private async Task<StepEnd> RescheduleAsync(ResourceLease lease, DrainStep.Send send, IReadOnlyList<long> seqs, TimeSpan delay, string error, bool countAttempt, Tally tally, CancellationToken ct)
    {
        DrainLog.Rescheduled(logger, lease.ResourceId, send.Entry.Seq, delay, countAttempt, error, lease.Token.Value);
        tally.Rescheduled++;
        var wrote = await completion.RescheduleAsync(lease, seqs, delay, error, countAttempt, ct);
        return wrote == CompletionResult.Lost ? StepEnd.Lost : StepEnd.Waiting;
    }

    private static StepEnd End(CompletionResult result) => result switch
    {
        CompletionResult.Lost => StepEnd.Lost,
        CompletionResult.Released => StepEnd.Released,
        CompletionResult.ReleasedAfterExpiry => StepEnd.ReleasedAfterExpiry,
        _ => StepEnd.Progressed,
    };

    /// <summary>A confirmation that also finished <paramref name="covered"/> folded entries, counted once it was written.</summary>
    private static StepEnd Confirmed(CompletionResult result, int covered)
    {
        if (result != CompletionResult.Lost)
        {
            DrainMetrics.RecordCoalesced(covered);
        }
        return End(result);
    }

    private static DrainStep? Fallback(DrainStep step) => step switch
    {
        DrainStep.Cancel c => c.Fallback,
        DrainStep.Send s => s.Fallback,
        _ => null,
    };

    private static PendingEntry Head(DrainStep step) => step switch
    {
        DrainStep.Cancel c => c.Covered.Count > 0 ? c.Covered[0] : c.Delete,
        DrainStep.Send s => s.Covered.Count > 0 ? s.Covered[0] : s.Entry,
        DrainStep.Poison p => p.Entry,
        _ => throw new InvalidOperationException($"No head for {step}"),
    };

    private static List<long> Seqs(DrainStep step) => step switch
    {
        DrainStep.Cancel c => c.Covered.Select(e => e.Seq).Append(c.Delete.Seq).ToList(),
        DrainStep.Send s => s.AllSeqs.ToList(),
        DrainStep.Poison p => [p.Entry.Seq],
        _ => [],
    };

    private sealed class Tally
    {
        public int Applied;
        public int Failed;
        public int Cancelled;
        public int Blocked;
        public int Rescheduled;
        public bool Lost;
        public string? LostReason;
        public bool InDoubt;
        public LeaseRelease? Released;

        public ResourceDrainSummary ToSummary() => new(Applied, Failed, Cancelled, Blocked, Rescheduled, Lost, Lost ? LostReason : null, InDoubt, Released);
    }
}
