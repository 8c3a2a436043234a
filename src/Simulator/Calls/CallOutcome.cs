namespace OutboxSync.Simulator.Calls;

/// <summary>How a mutating call ended; serialized snake_case.</summary>
internal enum CallOutcome
{
    /// <summary>Processed and changed the inventory (2xx).</summary>
    Applied,

    /// <summary>Answered from the idempotency cache; nothing was applied.</summary>
    Replayed,

    /// <summary>Refused by a gateway rule (404, 409, 422); nothing was applied.</summary>
    Rejected,

    /// <summary>An injected 503 or connection reset before processing; nothing was applied.</summary>
    FailedInjected,

    /// <summary>Processed (result cached for the same key), then answered with an injected 503.</summary>
    FailedAfterApply,

    /// <summary>Refused at once because the outage switch is on.</summary>
    Outage,

    /// <summary>The client disconnected before processing; nothing was applied.</summary>
    Aborted,

    /// <summary>Missing or invalid headers or body (400).</summary>
    BadRequest,

    /// <summary>The caller's <c>X-Request-Deadline</c> passed before the call could be applied (504); nothing was
    /// applied, and the call stopped being in flight at the deadline.</summary>
    DeadlineExceeded,
}
