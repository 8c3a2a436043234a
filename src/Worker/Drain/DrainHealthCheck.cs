using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;

namespace OutboxSync.Worker.Drain;

/// <summary>
/// Readiness of the drain: the loop has turned recently (a pass ran or a wait ended), and whether wake-ups come
/// from LISTEN or from polling alone. Polling drains everything too, so a lost listener is reported, not failed.
/// </summary>
public sealed class DrainHealthCheck(IOptions<DrainOptions> options, TimeProvider time) : IHealthCheck
{
    /// <summary>Slack beyond the poll interval before a silent loop counts as stuck: a pass may wait out a
    /// connection timeout while the database is slow.</summary>
    public static readonly TimeSpan StallGrace = TimeSpan.FromSeconds(60);

    private long _lastTurn;
    private int _listening;

    /// <summary>Called by the loop on every turn.</summary>
    public void LoopTurned() => Volatile.Write(ref _lastTurn, time.GetTimestamp());

    /// <summary>Called by the LISTEN service when it connects (true) or loses its connection (false).</summary>
    public void Listening(bool connected) => Volatile.Write(ref _listening, connected ? 1 : 0);

    public string WakeUps => Volatile.Read(ref _listening) == 1 ? "listener connected" : "polling";

    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var last = Volatile.Read(ref _lastTurn);
        if (last == 0)
        {
            return Task.FromResult(HealthCheckResult.Unhealthy($"drain loop not started ({WakeUps})"));
        }
        var silent = time.GetElapsedTime(last);
        var limit = options.Value.PollInterval + StallGrace;
        return Task.FromResult(silent <= limit
            ? HealthCheckResult.Healthy($"drain loop alive, last turn {silent.TotalSeconds:F1} s ago; {WakeUps}")
            : HealthCheckResult.Unhealthy($"drain loop silent for {silent.TotalSeconds:F0} s (limit {limit.TotalSeconds:F0} s); {WakeUps}"));
    }
}
