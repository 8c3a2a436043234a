namespace OutboxSync.Chaos.Tests.Faults;

/// <summary>
/// The SIGSTOP of one worker: the leases (resource, token) it held when stopped, when it was stopped and resumed,
/// for how many of them it logged "lost the lease" after resuming (it noticed), how many it had already left to
/// run out before the pause because a call was in doubt (it was not acting on them), and how many it released
/// while the lease was still live (a release already on its way to the database when the process was stopped).
/// </summary>
public sealed record PauseRecord(
    string InstanceId,
    IReadOnlyDictionary<Guid, long> HeldLeases,
    DateTimeOffset StoppedAt,
    DateTimeOffset ResumedAt,
    int LostLeaseWarnings,
    int LeftInDoubt,
    int ReleasedInTime)
{
    public TimeSpan Duration => ResumedAt - StoppedAt;

    /// <summary>Held leases the worker said nothing about: neither noticed lost, left in doubt, nor released in time.</summary>
    public int Unaccounted => HeldLeases.Count - LostLeaseWarnings - LeftInDoubt - ReleasedInTime;
}
