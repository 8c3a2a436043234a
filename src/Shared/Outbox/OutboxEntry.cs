namespace OutboxSync.Outbox;

/// <summary>One accepted change, written in the same transaction as the resource it describes.</summary>
public sealed class OutboxEntry
{
    public long Seq { get; set; }
    public string ResourceType { get; set; } = "";
    public Guid ResourceId { get; set; }
    public string Operation { get; set; } = "";
    public long Revision { get; set; }
    /// <summary>The resource's desired state at <see cref="Revision"/>, as JSON.</summary>
    public string Payload { get; set; } = "{}";
    public string ProjectId { get; set; } = "";
    /// <summary>Parents that must exist at the back end before this entry may be sent.</summary>
    public List<Guid> DependsOn { get; set; } = [];
    public string? TraceParent { get; set; }
    public string State { get; set; } = OutboxState.Pending;
    public int Attempts { get; set; }
    public DateTimeOffset NextAttemptAt { get; set; }
    public string? LastError { get; set; }
    public string? BlockedBy { get; set; }
    public DateTimeOffset CreatedAt { get; set; }
    public DateTimeOffset? CompletedAt { get; set; }
}
