namespace OutboxSync.Chaos.Tests.Stack;

/// <summary>
/// One of the worker replicas: the process currently running in it, its incarnation (each restart gets a new
/// instance id, so lease holders stay distinguishable) and a gate so a kill, a restart and the pause never act on
/// the same replica at once.
/// </summary>
public sealed class WorkerSlot(int number, bool viaBouncer)
{
    public int Number { get; } = number;

    /// <summary>Whether this replica's database connections go through PgBouncer (transaction pooling).</summary>
    public bool ViaBouncer { get; } = viaBouncer;

    public SemaphoreSlim Gate { get; } = new(1, 1);

    public ServiceProcess? Current { get; set; }

    public int Incarnation { get; set; }

    public string InstanceId => $"chaos-w{Number}-{Incarnation}";
}
