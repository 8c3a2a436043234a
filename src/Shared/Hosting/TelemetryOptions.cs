namespace OutboxSync.Hosting;

/// <summary>Telemetry export (section <c>Telemetry</c>).</summary>
public sealed class TelemetryOptions
{
    public const string Section = "Telemetry";

    /// <summary>OTLP endpoint for traces and metrics (e.g. http://127.0.0.1:4317). Default: none (no export;
    /// metrics are still served at /metrics for Prometheus).</summary>
    public string? OtlpEndpoint { get; set; }
}
