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
    bool Dispatched,
    Guid? IdempotencyKey = null)
{
    public bool IsDelete => Operation is OutboxOperation.Delete or OutboxOperation.RemoveInterface;

    /// <summary>
    /// A remove_interface that reconciliation wrote to move an interface the back end attaches to another router:
    /// it detaches it there and keeps the port (its row here, its object there); the add_interface after it
    /// attaches it where it belongs. Every other remove_interface also removes the port, as Neutron does.
    /// </summary>
    public bool DetachesOnly
    {
        get
        {
            if (Operation != OutboxOperation.RemoveInterface)
            {
                return false;
            }
            try
            {
                using var doc = System.Text.Json.JsonDocument.Parse(Payload);
                return doc.RootElement.ValueKind == System.Text.Json.JsonValueKind.Object
                    && doc.RootElement.TryGetProperty(OutboxOperation.DetachOnlyFlag, out var flag)
                    && flag.ValueKind == System.Text.Json.JsonValueKind.True;
            }
            catch (System.Text.Json.JsonException)
            {
                return false;
            }
        }
    }

    /// <summary>Reads a payload attribute that must be a UUID string (an interface's <c>router_id</c>, <c>subnet_id</c>).</summary>
    public static bool TryGuid(System.Text.Json.JsonElement payload, string name, out Guid value)
    {
        value = default;
        return payload.TryGetProperty(name, out var p) && p.ValueKind == System.Text.Json.JsonValueKind.String && Guid.TryParse(p.GetString(), out value);
    }
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
