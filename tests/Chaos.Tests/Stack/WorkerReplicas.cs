using System.Collections.Concurrent;

namespace OutboxSync.Chaos.Tests.Stack;

/// <summary>
/// The worker replicas as real processes: started, SIGKILLed and restarted under a new instance id. A replica
/// that exits without being killed, or that does not come back up, is recorded (the run fails on it); the run
/// restarts it so it can finish.
/// </summary>
public sealed class WorkerReplicas(IReadOnlyList<WorkerSlot> slots, Func<WorkerSlot, Task<ServiceProcess>> start) : IAsyncDisposable
{
    private const int StartAttempts = 3;

    private readonly ConcurrentQueue<(string Name, ServiceProcess Process)> _all = new();
    private readonly ConcurrentQueue<Task> _restarts = new();
    private readonly ConcurrentQueue<string> _problems = new();
    private int _kills;
    private int _restartCount;

    public IReadOnlyList<WorkerSlot> Slots => slots;

    public int Kills => Volatile.Read(ref _kills);

    public int Restarts => Volatile.Read(ref _restartCount);

    /// <summary>Replicas that exited on their own or failed to start, with their last output.</summary>
    public IReadOnlyCollection<string> Problems => _problems;

    /// <summary>Every worker process of the run (killed ones included), named by instance id.</summary>
    public IEnumerable<(string Name, ServiceProcess Process)> All => _all;

    public Task StartAllAsync() => Task.WhenAll(slots.Select(StartInSlotAsync));

    /// <summary>
    /// SIGKILLs the current process of a random replica that nobody else is handling and restarts it in the
    /// background. Returns false when every replica was busy (restarting or paused).
    /// </summary>
    public async Task<bool> KillRandomAsync(Random random)
    {
        foreach (var slot in slots.OrderBy(_ => random.Next()))
        {
            if (!await slot.Gate.WaitAsync(0))
            {
                continue;
            }
            if (slot.Current is { } victim)
            {
                if (!victim.HasExited)
                {
                    victim.Signal(9);
                    Interlocked.Increment(ref _kills);
                }
                await victim.WaitForExitAsync();
                slot.Current = null;
            }
            _restarts.Enqueue(RestartAsync(slot));
            return true;
        }
        return false;
    }

    /// <summary>Restarts every replica whose process exited although nobody killed it, recording each.</summary>
    public async Task RestartUnexpectedExitsAsync()
    {
        foreach (var slot in slots)
        {
            if (!await slot.Gate.WaitAsync(0))
            {
                continue;
            }
            if (slot.Current is { HasExited: false })
            {
                slot.Gate.Release();
                continue;
            }
            if (slot.Current is { } dead)
            {
                _problems.Enqueue($"{slot.InstanceId} exited by itself:\n{Tail(dead)}");
                slot.Current = null;
            }
            _restarts.Enqueue(RestartAsync(slot));
        }
    }

    /// <summary>Waits for restarts still under way (the fault phase is over).</summary>
    public async Task WhenRestartedAsync()
    {
        while (_restarts.TryDequeue(out var restart))
        {
            await restart;
        }
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            await WhenRestartedAsync();
        }
        catch (Exception e) when (e is TimeoutException or InvalidOperationException)
        {
            // Already recorded in Problems; disposal only cleans up.
        }
        foreach (var (_, process) in _all)
        {
            if (!process.HasExited)
            {
                process.Signal(18); // a paused replica must be resumed to be killed cleanly
            }
            await process.DisposeAsync();
        }
    }

    private async Task RestartAsync(WorkerSlot slot)
    {
        try
        {
            slot.Incarnation++;
            await StartInSlotAsync(slot);
            Interlocked.Increment(ref _restartCount);
        }
        finally
        {
            slot.Gate.Release();
        }
    }

    private async Task StartInSlotAsync(WorkerSlot slot)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                var process = await start(slot);
                _all.Enqueue((slot.InstanceId, process));
                slot.Current = process;
                return;
            }
            catch (Exception e) when (e is TimeoutException or InvalidOperationException && attempt < StartAttempts)
            {
                _problems.Enqueue($"{slot.InstanceId} did not start (attempt {attempt}): {e.Message}");
                slot.Incarnation++;
            }
        }
    }

    private static string Tail(ServiceProcess process) => string.Join('\n', process.Output.Split('\n').TakeLast(30));
}
