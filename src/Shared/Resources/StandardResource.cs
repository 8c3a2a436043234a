namespace OutboxSync.Resources;

/// <summary>
/// Neutron's standard attributes. <see cref="RevisionNumber"/> and <see cref="UpdatedAt"/> describe the desired
/// state; <see cref="AppliedRevision"/> is the revision the back end has confirmed.
/// </summary>
public abstract class StandardResource
{
    public Guid Id { get; set; }
    public string ProjectId { get; set; } = "";
    public string Name { get; set; } = "";
    public string Description { get; set; } = "";
    public string Status { get; set; } = ResourceStatus.PendingCreate;
    public string? StatusReason { get; set; }
    public long RevisionNumber { get; set; } = 1;
    public long AppliedRevision { get; set; }
    public DateTimeOffset CreatedAt { get; set; }
    public DateTimeOffset UpdatedAt { get; set; }
    public List<string> Tags { get; set; } = [];

    public abstract ResourceType Type { get; }
}
