namespace OutboxSync.Chaos.Tests.Faults;

/// <summary>
/// The SIGSTOP of one worker: the leases (resource, token) it held when stopped, when it was stopped and resumed,
/// for how many of them it logged "lost the lease" after resuming (it noticed), and how many it had already left to
/// run out before the pause because a call was in doubt (it was not acting on them).
/// </summary>
public sealed record PauseRecord(
    string InstanceId,
    IReadOnlyDictionary<Guid, long> HeldLeases,
    DateTimeOffset StoppedAt,
    DateTimeOffset ResumedAt,
    int LostLeaseWarnings,
    int LeftInDoubt)
{
    public TimeSpan Duration => ResumedAt - StoppedAt;

    /// <summary>Held leases the worker said nothing about: neither noticed lost nor left in doubt.</summary>
    public int Unaccounted => HeldLeases.Count - LostLeaseWarnings - LeftInDoubt;
}
