using System.ComponentModel.DataAnnotations;

namespace OutboxSync.Worker.Backend;

/// <summary>The back end's address and call timing (section <c>Backend</c>).</summary>
public sealed class BackendOptions
{
    public const string Section = "Backend";

    /// <summary>Base URL of the back-end API, e.g. http://127.0.0.1:5080/. Required; no default.</summary>
    [Required(ErrorMessage = "Backend:BaseUrl is required (e.g. http://127.0.0.1:5080/).")]
    [Url(ErrorMessage = "Backend:BaseUrl must be an absolute http(s) URL.")]
    public string BaseUrl { get; set; } = "";

    /// <summary>Timeout of one HTTP attempt.
    /// <value>The default value is 10 seconds.</value></summary>
    [Range(typeof(TimeSpan), "00:00:00.010", "00:10:00")]
    public TimeSpan AttemptTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Immediate retries of a transient failure within one step, before it is rescheduled.
    /// <value>The default value is 2.</value></summary>
    [Range(0, 10)]
    public int RetryCount { get; set; } = 2;

    /// <summary>First in-call retry delay; grows exponentially with jitter.
    /// <value>The default value is 200 milliseconds.</value></summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:01:00")]
    public TimeSpan RetryDelay { get; set; } = TimeSpan.FromMilliseconds(200);

    /// <summary>Failure ratio (transient failures and outages) that opens the circuit.
    /// <value>The default value is 0.5.</value></summary>
    [Range(0.01, 1.0)]
    public double BreakFailureRatio { get; set; } = 0.5;

    /// <summary>Calls in the sampling window before the circuit may open.
    /// <value>The default value is 20.</value></summary>
    [Range(2, 10000)]
    public int BreakMinimumThroughput { get; set; } = 20;

    /// <summary>Window over which the failure ratio is measured.
    /// <value>The default value is 10 seconds.</value></summary>
    [Range(typeof(TimeSpan), "00:00:00.500", "00:10:00")]
    public TimeSpan BreakSamplingDuration { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>How long the circuit stays open before a probe call.
    /// <value>The default value is 5 seconds.</value></summary>
    [Range(typeof(TimeSpan), "00:00:00.500", "00:10:00")]
    public TimeSpan BreakDuration { get; set; } = TimeSpan.FromSeconds(5);
}
