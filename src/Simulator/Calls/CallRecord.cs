namespace OutboxSync.Simulator.Calls;

/// <summary>
/// One mutating call as the device saw it. <see cref="Sequence"/> is assigned when the call arrives, so
/// sorting by it gives arrival order. <see cref="Status"/> is null when no response was written.
/// </summary>
internal sealed record CallRecord(
    long Sequence,
    string Method,
    string Path,
    string Collection,
    string? ResourceId,
    long? Revision,
    long? FencingToken,
    string? IdempotencyKey,
    string? Traceparent,
    DateTimeOffset? Deadline,
    CallOutcome Outcome,
    int? Status,
    string? Error,
    DateTimeOffset StartedAt,
    DateTimeOffset FinishedAt);
