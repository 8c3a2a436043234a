using System.Collections.Concurrent;

namespace OutboxSync.Chaos.Tests.Faults;

/// <summary>What the fault schedule actually did, for the summary (a fault that never fired proves nothing).</summary>
public sealed class FaultReport
{
    private int _terminated;
    private int _terminationRoundsFailed;

    public TimeSpan Phase { get; set; }

    /// <summary>Sessions ended by pg_terminate_backend, by the state they were in (active, idle, idle in transaction).</summary>
    public ConcurrentDictionary<string, int> TerminatedByState { get; } = new();

    public int Terminated => Volatile.Read(ref _terminated);

    /// <summary>Rounds that could not reach PostgreSQL (it was restarting).</summary>
    public int TerminationRoundsFailed => Volatile.Read(ref _terminationRoundsFailed);

    public TimeSpan? OutageAt { get; set; }

    public TimeSpan? OutageLasted { get; set; }

    public TimeSpan? RestartAt { get; set; }

    /// <summary>How long pg_ctl restart -m fast took.</summary>
    public TimeSpan? RestartTook { get; set; }

    /// <summary>From the restart's end until both APIs and every running worker answered again from the database.</summary>
    public TimeSpan? RecoveredAfterRestart { get; set; }

    public PauseRecord? Pause { get; set; }

    /// <summary>The simulator's /_sim/stats when the fault phase ended (its injected faults are measured on these).</summary>
    public System.Text.Json.Nodes.JsonObject? SimulatorStatsAtPhaseEnd { get; set; }

    public void RecordTermination(string state)
    {
        Interlocked.Increment(ref _terminated);
        TerminatedByState.AddOrUpdate(state, 1, (_, n) => n + 1);
    }

    public void RecordFailedTerminationRound() => Interlocked.Increment(ref _terminationRoundsFailed);
}
