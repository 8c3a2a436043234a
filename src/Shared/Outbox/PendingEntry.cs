namespace OutboxSync.Outbox;

/// <summary>A pending outbox entry as the drain reads it, with the flags the ordering rules need.</summary>
public sealed record PendingEntry(
    long Seq,
    string ResourceType,
    Guid ResourceId,
    string Operation,
    long Revision,
    string Payload,
    string ProjectId,
    IReadOnlyList<Guid> DependsOn,
    string? TraceParent,
    int Attempts,
    string? BlockedBy,
    bool Due,
    bool Dispatched)
{
    public bool IsDelete => Operation is OutboxOperation.Delete or OutboxOperation.RemoveInterface;
}

/// <summary>The resource row's status columns, or absent when the row is gone.</summary>
public sealed record ResourceRowState(string ResourceType, string Status, long RevisionNumber, long AppliedRevision);

/// <summary>Everything the drain needs to decide one resource's next step, read in one round trip.</summary>
public sealed record ResourceBacklog(
    Guid ResourceId,
    IReadOnlyList<PendingEntry> Pending,
    ResourceRowState? Row,
    bool EverDispatched)
{
    public PendingEntry? Head => Pending.Count > 0 ? Pending[0] : null;
}
