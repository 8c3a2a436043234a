using System.ComponentModel.DataAnnotations;

namespace OutboxSync.Leases;

/// <summary>Per-resource lease timing (section <c>Leases</c>).</summary>
public sealed class LeaseOptions : IValidatableObject
{
    public const string Section = "Leases";

    /// <summary>How long an acquisition or renewal keeps the lease alive, measured by the database clock.
    /// <value>The default value is 15 seconds.</value></summary>
    [Range(typeof(TimeSpan), "00:00:00.200", "01:00:00")]
    public TimeSpan Duration { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>How often held leases are renewed.
    /// <value>The default is <see cref="Duration"/> / 3 when unset.</value></summary>
    [Range(typeof(TimeSpan), "00:00:00.050", "01:00:00")]
    public TimeSpan? RenewEvery { get; set; }

    /// <summary>How long before the lease's nominal end the holder stops trusting it, to absorb the request's own
    /// latency and scheduling pauses. Clock skew does not need covering: trust is measured on the local monotonic
    /// clock from before the acquire/renew was sent.
    /// <value>The default value is 3 seconds.</value></summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:30:00")]
    public TimeSpan SafetyMargin { get; set; } = TimeSpan.FromSeconds(3);

    /// <summary>Retries of a finished drain's lease release that failed on the database (the release is idempotent;
    /// an unreleased lease holds its resource until <see cref="Duration"/> runs out).
    /// <value>The default value is 2.</value></summary>
    [Range(0, 10)]
    public int ReleaseRetries { get; set; } = 2;

    /// <summary>Wait before each retry of a lease release.
    /// <value>The default value is 50 milliseconds.</value></summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:00:10")]
    public TimeSpan ReleaseRetryDelay { get; set; } = TimeSpan.FromMilliseconds(50);

    public TimeSpan EffectiveRenewEvery => RenewEvery ?? Duration / 3;

    /// <summary>How long a holder may act after sending an acquire or renew.</summary>
    public TimeSpan TrustWindow => Duration - SafetyMargin;

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (SafetyMargin >= Duration)
        {
            yield return new ValidationResult("Leases:SafetyMargin must be shorter than Leases:Duration.", [nameof(SafetyMargin)]);
        }
        if (EffectiveRenewEvery >= TrustWindow)
        {
            yield return new ValidationResult("Leases:RenewEvery must be shorter than Duration - SafetyMargin, or a lease lapses between renewals.", [nameof(RenewEvery)]);
        }
    }
}
