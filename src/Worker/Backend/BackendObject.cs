namespace OutboxSync.Worker.Backend;

/// <summary>One object in a back-end listing: its id, stored revision and the parents its attributes name.</summary>
public sealed record BackendObject(Guid Id, long Revision, IReadOnlyList<Guid> Parents);
