namespace OutboxSync.Chaos.Tests.Faults;

/// <summary>
/// The SIGSTOP of one worker: the leases (resource, token) it held when stopped, when it was stopped and resumed,
/// and how many "lost the lease" warnings it logged after resuming (it noticed).
/// </summary>
public sealed record PauseRecord(
    string InstanceId,
    IReadOnlyDictionary<Guid, long> HeldLeases,
    DateTimeOffset StoppedAt,
    DateTimeOffset ResumedAt,
    int LostLeaseWarnings)
{
    public TimeSpan Duration => ResumedAt - StoppedAt;
}
