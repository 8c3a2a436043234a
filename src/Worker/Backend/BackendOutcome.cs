namespace OutboxSync.Worker.Backend;

/// <summary>How the back end answered one logical call, in the terms the drain acts on.</summary>
public enum BackendOutcomeKind
{
    /// <summary>2xx: applied.</summary>
    Applied,
    /// <summary>409 already_exists on a create.</summary>
    AlreadyExists,
    /// <summary>404: absent (done for deletes, permanent for updates).</summary>
    NotFound,
    /// <summary>409 stale_revision: a newer revision is already applied.</summary>
    StaleRevision,
    /// <summary>409 stale_token: our lease was superseded; abandon the resource without counting a failure.</summary>
    StaleToken,
    /// <summary>409 unknown_parent / has_children / address_in_use: ordering problem, retried with backoff.</summary>
    OrderingConflict,
    /// <summary>5xx, reset, timeout: retried, counts an attempt once in-call retries are exhausted.</summary>
    Transient,
    /// <summary>503 outage: back end down; rescheduled without spending an attempt.</summary>
    Outage,
    /// <summary>Our circuit breaker is open; nothing was sent; rescheduled without spending an attempt.</summary>
    CircuitOpen,
    /// <summary>422 and other 4xx: permanent; the resource goes to ERROR.</summary>
    Rejected,
    /// <summary>Our lease's trust window ran out before or during the attempt: stop acting, write nothing.</summary>
    LeaseExpired,
}

/// <param name="InDoubt">The request was sent and abandoned without an answer (attempt timeout, lease cut-off): the
/// back end may still be executing it, so nothing more may be sent for the resource until its lease has expired.</param>
public sealed record BackendOutcome(BackendOutcomeKind Kind, int? StatusCode, string Detail, bool InDoubt = false)
{
    public bool CountsAgainstBreaker => Kind is BackendOutcomeKind.Transient or BackendOutcomeKind.Outage;

    public override string ToString() => StatusCode is { } code ? $"{Kind} ({code}): {Detail}" : $"{Kind}: {Detail}";
}
