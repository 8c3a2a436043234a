namespace OutboxSync.Worker.Backend;

/// <summary>This replica's circuit-breaker state around the back end, as the breaker reports it (one breaker per
/// replica, in <see cref="Resilience.WorkerPipelines.Backend"/>), and as exported by <see cref="BackendMetrics"/>.</summary>
public sealed class BackendCircuit
{
    private int _state = BackendMetrics.Closed;

    public BackendCircuit() => BackendMetrics.SetCircuitState(BackendMetrics.Closed);

    /// <summary>0 closed, 1 open, 2 half-open.</summary>
    public int State => Volatile.Read(ref _state);

    public ValueTask SetAsync(int state)
    {
        Volatile.Write(ref _state, state);
        BackendMetrics.SetCircuitState(state);
        return ValueTask.CompletedTask;
    }
}
