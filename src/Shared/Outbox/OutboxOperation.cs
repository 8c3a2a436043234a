namespace OutboxSync.Outbox;

public static class OutboxOperation
{
    public const string Create = "create";
    public const string Update = "update";
    public const string Delete = "delete";
    public const string AddInterface = "add_interface";
    public const string RemoveInterface = "remove_interface";

    /// <summary>Payload flag of a remove_interface that only detaches (see <see cref="PendingEntry.DetachesOnly"/>).</summary>
    public const string DetachOnlyFlag = "detach_only";
}
