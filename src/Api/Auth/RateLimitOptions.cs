using System.ComponentModel.DataAnnotations;

namespace OutboxSync.Api.Auth;

/// <summary>Per-token request rate limit (section <c>Api:RateLimit</c>); a token bucket per caller.</summary>
public sealed class RateLimitOptions
{
    public const string Section = "Api:RateLimit";

    /// <summary>Switches the limiter on. Default: true.</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>Sustained requests per second per token (per client address without a token). Default: 500.</summary>
    [Range(1, 1_000_000, ErrorMessage = "Api:RateLimit:PermitsPerSecond must be between 1 and 1000000.")]
    public int PermitsPerSecond { get; set; } = 500;

    /// <summary>Burst size: requests a caller may make at once after being idle. Default: 1000.</summary>
    [Range(1, 1_000_000, ErrorMessage = "Api:RateLimit:Burst must be between 1 and 1000000.")]
    public int Burst { get; set; } = 1000;
}
