namespace OutboxSync.Simulator.Gateway;

/// <summary>
/// A final answer of the gateway: status, body and (for errors) the error code. Immutable, so the
/// idempotency cache can replay the very same instance.
/// </summary>
internal sealed record GatewayResult(int Status, object? Body, string? ErrorCode = null)
{
    public static readonly GatewayResult NoContent = new(StatusCodes.Status204NoContent, null);

    public static readonly GatewayResult Outage =
        Error(StatusCodes.Status503ServiceUnavailable, "outage", "the gateway is in a simulated outage");

    public static readonly GatewayResult InjectedFailure =
        Error(StatusCodes.Status503ServiceUnavailable, "unavailable", "injected failure; nothing was applied");

    public static readonly GatewayResult InjectedFailureAfterApply =
        Error(StatusCodes.Status503ServiceUnavailable, "unavailable", "injected failure");

    /// <summary>The caller's deadline passed first; nothing was applied. Never cached: the caller's next attempt
    /// carries a new deadline and is evaluated afresh.</summary>
    public static readonly GatewayResult DeadlineExceeded =
        Error(StatusCodes.Status504GatewayTimeout, "deadline_exceeded", "the X-Request-Deadline passed before the call could be applied; nothing was applied");

    public bool IsSuccess => Status is >= 200 and < 300;

    /// <summary>
    /// The answer depends on other resources' state (a parent, a child, another router), which can change without
    /// this resource changing: it is not cached, so a retry with the same Idempotency-Key is evaluated afresh.
    /// </summary>
    public bool DependsOnOtherResources { get; private init; }

    public GatewayResult DependingOnOtherResources() => this with { DependsOnOtherResources = true };

    public static GatewayResult Error(int status, string code, string? message = null, long? currentRevision = null) =>
        new(status, new ErrorBody(code, message, currentRevision), code);

    public static GatewayResult BadRequest(string message) =>
        Error(StatusCodes.Status400BadRequest, "bad_request", message);

    public static GatewayResult NotFound(string message) =>
        Error(StatusCodes.Status404NotFound, "not_found", message);

    public IResult ToHttpResult() =>
        Body is null ? TypedResults.StatusCode(Status) : TypedResults.Json(Body, statusCode: Status);
}
