namespace OutboxSync.Resources;

/// <summary>Neutron status values. PENDING_* until the back end has applied the change.</summary>
public static class ResourceStatus
{
    public const string PendingCreate = "PENDING_CREATE";
    public const string PendingUpdate = "PENDING_UPDATE";
    public const string PendingDelete = "PENDING_DELETE";
    public const string Active = "ACTIVE";
    public const string Error = "ERROR";

    public static bool IsPending(string status) => status.StartsWith("PENDING_", StringComparison.Ordinal);
}
