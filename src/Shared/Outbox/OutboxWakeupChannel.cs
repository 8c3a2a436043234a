namespace OutboxSync.Outbox;

/// <summary>
/// The PostgreSQL channel on which whoever makes outbox entries due (the API after its commits, reconciliation
/// after a repair) sends <c>NOTIFY</c>, and on which every worker <c>LISTEN</c>s. A hint only: the drain polls anyway.
/// </summary>
public static class OutboxWakeupChannel
{
    public const string Name = "outbox_wakeup";
}
