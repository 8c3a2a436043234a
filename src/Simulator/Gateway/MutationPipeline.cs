using OutboxSync.Simulator.Calls;
using OutboxSync.Simulator.Faults;
using OutboxSync.Simulator.Idempotency;
using OutboxSync.Simulator.Violations;

namespace OutboxSync.Simulator.Gateway;

/// <summary>
/// The life of one mutating call: outage, validation, the caller's deadline, in-flight marking, injected faults, the
/// atomic replay/fence/apply step, failure after apply, and finally the call log and stats.
/// </summary>
internal sealed class MutationPipeline(
    GatewayState state,
    FaultInjection faults,
    InFlightTracker inFlight,
    CallLog log,
    CallStats stats,
    TimeProvider time)
{
    public const string ReplayedHeader = "Idempotent-Replayed";

    public async Task<IResult> RunAsync(
        HttpContext context, MutationRequest request, Func<Inventory, MutationCall, GatewayResult> apply)
    {
        var sequence = log.NextSequence();
        var startedAt = time.GetUtcNow();
        stats.CountCall(request.Method, request.Collection);

        IResult Finish(CallOutcome outcome, GatewayResult? result, string? error = null)
        {
            stats.CountOutcome(outcome);
            log.Append(new CallRecord(
                sequence,
                request.Method,
                request.Path,
                request.Collection,
                request.ResourceId,
                request.Revision,
                request.FencingToken,
                request.IdempotencyKey,
                request.Traceparent,
                request.Deadline,
                outcome,
                result?.Status,
                error ?? result?.ErrorCode,
                startedAt,
                time.GetUtcNow()));
            return result?.ToHttpResult() ?? TypedResults.Empty;
        }

        if (faults.OutageActive)
        {
            return Finish(CallOutcome.Outage, GatewayResult.Outage);
        }

        if (request.Call is not { } call)
        {
            return Finish(CallOutcome.BadRequest, GatewayResult.BadRequest(request.Problem!));
        }

        // The caller's deadline bounds the whole call: past it, nothing starts, nothing waits and nothing applies, and
        // the call stops being in flight, so a caller that stalled past its lease cannot overlap the next holder.
        using var expiry = ExpiryOf(call);
        if (expiry?.IsCancellationRequested == true)
        {
            return Finish(CallOutcome.DeadlineExceeded, GatewayResult.DeadlineExceeded);
        }
        using var ends = expiry is null ? null : CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted, expiry.Token);

        // In flight before the injected latency, so slow calls expose a client that does not serialize.
        using var lease = inFlight.Enter(call.ResourceId, ends?.Token ?? context.RequestAborted);

        switch (await faults.BeforeHandlingAsync(context, expiry?.Token ?? CancellationToken.None))
        {
            case FaultVerdict.Reset:
                return Finish(CallOutcome.FailedInjected, null, "reset");
            case FaultVerdict.ClientGone:
                return Finish(CallOutcome.Aborted, null, "client_disconnected");
            case FaultVerdict.DeadlineExceeded:
                return Finish(CallOutcome.DeadlineExceeded, GatewayResult.DeadlineExceeded);
            case FaultVerdict.Fail:
                return Finish(CallOutcome.FailedInjected, GatewayResult.InjectedFailure);
        }

        var (result, replayed) = state.Mutate(call, CallSignature.Of(request, call), apply);
        if (ReferenceEquals(result, GatewayResult.DeadlineExceeded))
        {
            return Finish(CallOutcome.DeadlineExceeded, result);
        }
        if (replayed)
        {
            context.Response.Headers[ReplayedHeader] = "true";
            return Finish(CallOutcome.Replayed, result);
        }

        if (faults.FailsAfterApply())
        {
            return Finish(CallOutcome.FailedAfterApply, GatewayResult.InjectedFailureAfterApply);
        }

        return Finish(result.IsSuccess ? CallOutcome.Applied : CallOutcome.Rejected, result);
    }

    /// <summary>A token that fires at the call's deadline (already fired if it has passed); null without one.</summary>
    private CancellationTokenSource? ExpiryOf(MutationCall call)
    {
        if (call.Deadline is not { } deadline)
        {
            return null;
        }
        var remaining = deadline - time.GetUtcNow();
        if (remaining <= TimeSpan.Zero)
        {
            var passed = new CancellationTokenSource();
            passed.Cancel();
            return passed;
        }
        // Beyond a timer's range the check under the state's lock still applies.
        return new CancellationTokenSource(remaining > TimeSpan.FromDays(1) ? Timeout.InfiniteTimeSpan : remaining, time);
    }
}
