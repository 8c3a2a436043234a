namespace OutboxSync.Api.Errors;

/// <summary>A request failure rendered as Neutron's <c>{"NeutronError": {...}}</c> with its HTTP status.</summary>
public sealed class NeutronException(int status, string type, string message) : Exception(message)
{
    public int Status { get; } = status;
    public string Type { get; } = type;

    public static NeutronException BadRequest(string message) => new(400, "HTTPBadRequest", message);

    public static NeutronException InvalidInput(string detail) =>
        new(400, "InvalidInput", $"Invalid input for operation: {detail}.");

    public static NeutronException NotFound(string kind, object id) =>
        new(404, $"{Pascal(kind)}NotFound", $"{Capitalize(kind)} {id} could not be found.");

    public static NeutronException Conflict(string type, string message) => new(409, type, message);

    public static NeutronException Unauthorized() => new(401, "HTTPUnauthorized", "The request you have made requires authentication.");

    public static NeutronException Forbidden(string message) => new(403, "PolicyNotAuthorized", message);

    public static NeutronException PreconditionFailed(long expected, long actual) =>
        new(412, "RevisionNumberConstraintFailed",
            $"Constrained to {expected}, but current revision is {actual}");

    private static string Capitalize(string kind) => kind.Length == 0 ? kind : char.ToUpperInvariant(kind[0]) + kind[1..].Replace('_', ' ');

    /// <summary>security_group → SecurityGroup, for the error type.</summary>
    private static string Pascal(string kind) => string.Concat(kind.Split('_').Select(Capitalize));
}
