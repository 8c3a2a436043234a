using System.Text.Json;

namespace OutboxSync.Simulator.Faults;

/// <summary>Turns the current <see cref="FaultPlan"/> into delays, aborts and failures for one /v1 call.</summary>
internal sealed class FaultInjection(FaultPlan plan, TimeProvider time)
{
    public bool OutageActive => plan.Current.Outage;

    /// <summary>
    /// Latency, then reset, hang and failure draws, in that order. Every wait honours the client's
    /// disconnect so an abandoned call never goes on to apply.
    /// </summary>
    public async Task<FaultVerdict> BeforeHandlingAsync(HttpContext context)
    {
        var settings = plan.Current;
        var aborted = context.RequestAborted;
        try
        {
            var latencyMs = plan.DrawLatencyMs(settings);
            if (latencyMs > 0)
            {
                await Task.Delay(TimeSpan.FromMilliseconds(latencyMs), time, aborted);
            }

            if (plan.Roll(settings.ResetRate))
            {
                context.Abort();
                return FaultVerdict.Reset;
            }

            if (plan.Roll(settings.HangRate) && settings.HangMs > 0)
            {
                await Task.Delay(TimeSpan.FromMilliseconds(settings.HangMs), time, aborted);
            }
        }
        catch (OperationCanceledException) when (aborted.IsCancellationRequested)
        {
            return FaultVerdict.ClientGone;
        }

        if (aborted.IsCancellationRequested)
        {
            return FaultVerdict.ClientGone;
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
