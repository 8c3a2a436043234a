using System.Text.Json;

namespace OutboxSync.Simulator.Faults;

/// <summary>Turns the current <see cref="FaultPlan"/> into delays, aborts and failures for one /v1 call.</summary>
internal sealed class FaultInjection(FaultPlan plan, TimeProvider time)
{
    public bool OutageActive => plan.Current.Outage;

    /// <summary>
    /// Latency, then reset, hang and failure draws, in that order. Every wait honours the client's disconnect and
    /// <paramref name="deadline"/> (the caller's <c>X-Request-Deadline</c>), so an abandoned or expired call never
    /// goes on to apply.
    /// </summary>
    public async Task<FaultVerdict> BeforeHandlingAsync(HttpContext context, CancellationToken deadline = default)
    {
        var settings = plan.Current;
        var aborted = context.RequestAborted;
        using var either = CancellationTokenSource.CreateLinkedTokenSource(aborted, deadline);
        try
        {
            var latencyMs = plan.DrawLatencyMs(settings);
            if (latencyMs > 0)
            {
                await Task.Delay(TimeSpan.FromMilliseconds(latencyMs), time, either.Token);
            }

            if (plan.Roll(settings.ResetRate))
            {
                context.Abort();
                return FaultVerdict.Reset;
            }

            if (plan.Roll(settings.HangRate) && settings.HangMs > 0)
            {
                await Task.Delay(TimeSpan.FromMilliseconds(settings.HangMs), time, either.Token);
            }
        }
        catch (OperationCanceledException) when (either.IsCancellationRequested)
        {
            return aborted.IsCancellationRequested ? FaultVerdict.ClientGone : FaultVerdict.DeadlineExceeded;
        }

        if (aborted.IsCancellationRequested)
        {
            return FaultVerdict.ClientGone;
        }

        if (deadline.IsCancellationRequested)
        {
            return FaultVerdict.DeadlineExceeded;
        }

        return plan.Roll(settings.FailureRate) ? FaultVerdict.Fail : FaultVerdict.Proceed;
    }

    /// <summary>Whether a processed call should nevertheless answer 503 (its result stays cached for retries).</summary>
    public bool FailsAfterApply() => plan.Roll(plan.Current.FailureAfterApplyRate);

    /// <summary>Why a create/update is permanently refused, or null to let it through.</summary>
    public string? RejectionFor(JsonElement attributes)
    {
        var settings = plan.Current;
        var substring = settings.RejectNameSubstring;
        if (!string.IsNullOrEmpty(substring)
            && attributes.ValueKind == JsonValueKind.Object
            && attributes.TryGetProperty("name", out var name)
            && name.ValueKind == JsonValueKind.String
            && name.GetString()!.Contains(substring, StringComparison.Ordinal))
        {
            return $"name contains '{substring}'";
        }

        return plan.Roll(settings.RejectRate) ? "rejected by reject_rate" : null;
    }
}
