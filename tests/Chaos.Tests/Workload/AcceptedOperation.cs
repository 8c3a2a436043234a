namespace OutboxSync.Chaos.Tests.Workload;

/// <summary>
/// A call the API accepted (2xx), or whose commit a client confirmed after an ambiguous answer (a 5xx or a lost
/// response): <paramref name="Recovered"/>. <paramref name="Revision"/> is the revision_number the API answered
/// for creates and updates.
/// </summary>
public sealed record AcceptedOperation(OperationKind Kind, TrackedResource Resource, long? Revision, bool ViaBouncer, bool Recovered);
