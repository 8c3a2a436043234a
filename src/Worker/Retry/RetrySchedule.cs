using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;

namespace OutboxSync.Worker.Retry;

/// <summary>Persisted retry policy (section <c>Worker:Retry</c>).</summary>
public sealed class RetryOptions
{
    public const string Section = "Worker:Retry";

    /// <summary>Failed attempts after which the entry fails and the resource goes to ERROR.
    /// <value>The default value is 8.</value></summary>
    [Range(1, 1000)]
    public int MaxAttempts { get; set; } = 8;

    /// <summary>Delay after the first failed attempt; doubles per attempt.
    /// <value>The default value is 1 second.</value></summary>
    [Range(typeof(TimeSpan), "00:00:00", "01:00:00")]
    public TimeSpan BaseDelay { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Upper bound of the backoff.
    /// <value>The default value is 5 minutes.</value></summary>
    [Range(typeof(TimeSpan), "00:00:00", "1.00:00:00")]
    public TimeSpan MaxDelay { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>How long to wait while the back end is down or the circuit is open (no attempt is spent).
    /// <value>The default value is 2 seconds.</value></summary>
    [Range(typeof(TimeSpan), "00:00:00", "01:00:00")]
    public TimeSpan OutageDelay { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>When a blocked entry is re-checked if its blocker does not wake it earlier.
    /// <value>The default value is 5 seconds.</value></summary>
    [Range(typeof(TimeSpan), "00:00:00", "01:00:00")]
    public TimeSpan BlockedRecheck { get; set; } = TimeSpan.FromSeconds(5);
}

/// <summary>
/// Capped exponential backoff with ±20 % jitter, persisted as next_attempt_at (database clock + delay) so a
/// restart or another replica honours it.
/// </summary>
public sealed class RetrySchedule(IOptions<RetryOptions> options)
{
    public RetryOptions Options => options.Value;

    /// <summary>True when an entry that has now failed <paramref name="attempts"/> times must give up.</summary>
    public bool IsExhausted(int attempts) => attempts >= options.Value.MaxAttempts;

    /// <summary>Delay before the next attempt after <paramref name="attempts"/> failures (1-based).</summary>
    public TimeSpan DelayAfter(int attempts)
    {
        var o = options.Value;
        var exponent = Math.Clamp(attempts - 1, 0, 30);
        var raw = o.BaseDelay.TotalMilliseconds * Math.Pow(2, exponent);
        var capped = Math.Min(raw, o.MaxDelay.TotalMilliseconds);
        var jittered = capped * (0.8 + (Random.Shared.NextDouble() * 0.4));
        return TimeSpan.FromMilliseconds(Math.Min(jittered, o.MaxDelay.TotalMilliseconds));
    }
}
