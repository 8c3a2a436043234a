using System.Diagnostics.Metrics;
using OutboxSync.Hosting;

namespace OutboxSync.Worker.Backend;

/// <summary>The back-end circuit breaker's state as a gauge: 0 closed, 1 open, 2 half-open.</summary>
internal static class BackendMetrics
{
    public const int Closed = 0;
    public const int Open = 1;
    public const int HalfOpen = 2;

    // One pipeline (one breaker) per replica process; the gauge reports the latest transition.
    private static int _circuitState;

    public static readonly ObservableGauge<int> CircuitState = Telemetry.Meter.CreateObservableGauge(
        "outboxsync.worker.backend.circuit_state", () => Volatile.Read(ref _circuitState),
        unit: "{state}", description: "Back-end circuit breaker: 0 closed, 1 open (calls short-circuited), 2 half-open (probing)");

    public static void SetCircuitState(int state) => Volatile.Write(ref _circuitState, state);
}
