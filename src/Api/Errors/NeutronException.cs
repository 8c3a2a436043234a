namespace OutboxSync.Api.Errors;

/// <summary>A request failure rendered as Neutron's <c>{"NeutronError": {...}}</c> with its HTTP status.</summary>
public sealed class NeutronException(int status, string type, string message) : Exception(message)
{
    public int Status { get; } = status;
    public string Type { get; } = type;

    /// <summary>Response headers that belong to the failure (<c>WWW-Authenticate</c>, <c>Retry-After</c>).</summary>
    public IReadOnlyDictionary<string, string> Headers { get; init; } = new Dictionary<string, string>();

    public static NeutronException BadRequest(string message) => new(400, "HTTPBadRequest", message);

    public static NeutronException InvalidInput(string detail) =>
        new(400, "InvalidInput", $"Invalid input for operation: {detail}.");

    public static NeutronException NotFound(string kind, object id) =>
        new(404, $"{Pascal(kind)}NotFound", $"{Capitalize(kind)} {id} could not be found.");

    public static NeutronException Conflict(string type, string message) => new(409, type, message);

    public static NeutronException Unauthorized() => new(401, "HTTPUnauthorized", "The request you have made requires authentication.");

    /// <summary>401 naming the identity service a client authenticates with, as keystonemiddleware answers.</summary>
    public static NeutronException Unauthorized(string challenge) => new(401, "HTTPUnauthorized", "The request you have made requires authentication.")
    {
        Headers = new Dictionary<string, string> { ["WWW-Authenticate"] = challenge },
    };

    public static NeutronException ServiceUnavailable(string message, int retryAfterSeconds) => new(503, "ServiceUnavailable", message)
    {
        Headers = new Dictionary<string, string> { ["Retry-After"] = retryAfterSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture) },
    };

    public static NeutronException Forbidden(string message) => new(403, "PolicyNotAuthorized", message);

    public static NeutronException PreconditionFailed(long expected, long actual) =>
        new(412, "RevisionNumberConstraintFailed",
            $"Constrained to {expected}, but current revision is {actual}");

    private static string Capitalize(string kind) => kind.Length == 0 ? kind : char.ToUpperInvariant(kind[0]) + kind[1..].Replace('_', ' ');

    /// <summary>security_group → SecurityGroup, for the error type.</summary>
    private static string Pascal(string kind) => string.Concat(kind.Split('_').Select(Capitalize));
}
