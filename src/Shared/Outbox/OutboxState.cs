namespace OutboxSync.Outbox;

/// <summary>Lifecycle of an outbox entry; see docs/architecture.md for the diagram.</summary>
public static class OutboxState
{
    /// <summary>Accepted, not yet applied; due at next_attempt_at.</summary>
    public const string Pending = "pending";
    /// <summary>The back end confirmed it (or it was a no-op such as deleting what is already gone).</summary>
    public const string Done = "done";
    /// <summary>A later entry of the same resource carried its state to the back end instead.</summary>
    public const string Superseded = "superseded";
    /// <summary>Permanently rejected or out of attempts; the resource is ERROR; kept until an operator acts.</summary>
    public const string Failed = "failed";
    /// <summary>Dropped by an operator.</summary>
    public const string Discarded = "discarded";
}
