using System.Globalization;
using System.Text.Json;

namespace OutboxSync.Simulator.Gateway;

/// <summary>
/// A mutating request as read off the wire: either a valid <see cref="Call"/> or a <see cref="Problem"/>
/// (400). The loose fields are kept either way so the call log can show what arrived.
/// </summary>
internal sealed record MutationRequest(
    string Method,
    string Collection,
    string Path,
    string? ResourceId,
    long? Revision,
    long? FencingToken,
    string? IdempotencyKey,
    string? Traceparent,
    DateTimeOffset? Deadline,
    MutationCall? Call,
    string? Problem)
{
    public const string FencingTokenHeader = "X-Fencing-Token";
    public const string IdempotencyKeyHeader = "Idempotency-Key";
    public const string TraceparentHeader = "traceparent";

    /// <summary>The caller's deadline: an RFC 3339 timestamp with an offset (docs/backend-api.md, Deadlines).</summary>
    public const string DeadlineHeader = "X-Request-Deadline";

    /// <param name="context">The request.</param>
    /// <param name="kind">Which route it came in on.</param>
    /// <param name="collection">Target collection (<c>interfaces</c> for router interface calls).</param>
    /// <param name="pathId">The id in the path: object id, or port id for interfaces; null for creates.</param>
    /// <param name="routerId">The router id in the path of interface calls.</param>
    public static async Task<MutationRequest> ReadAsync(
        HttpContext context, MutationKind kind, string collection, string? pathId, string? routerId = null)
    {
        var request = context.Request;
        var headers = request.Headers;
        string? problem = null;

        long? token = null;
        var rawToken = headers[FencingTokenHeader].ToString();
        if (string.IsNullOrWhiteSpace(rawToken))
        {
            problem = $"the {FencingTokenHeader} header is required";
        }
        else if (long.TryParse(rawToken, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var parsedToken))
        {
            token = parsedToken;
        }
        else
        {
            problem = $"the {FencingTokenHeader} header must be a 64-bit integer";
        }

        var key = headers[IdempotencyKeyHeader].ToString();
        if (string.IsNullOrWhiteSpace(key))
        {
            key = null;
            problem ??= $"the {IdempotencyKeyHeader} header is required";
        }

        var traceparent = headers[TraceparentHeader].ToString();

        DateTimeOffset? deadline = null;
        var rawDeadline = headers[DeadlineHeader].ToString();
        if (!string.IsNullOrWhiteSpace(rawDeadline))
        {
            // An offset is required: a deadline without one would be read in the gateway's own time zone.
            if (DateTimeOffset.TryParseExact(rawDeadline.Trim(), DeadlineFormats, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var parsedDeadline))
            {
                deadline = parsedDeadline;
            }
            else
            {
                problem ??= $"the {DeadlineHeader} header must be an RFC 3339 timestamp with an offset, e.g. 2026-01-31T12:00:03.250Z";
            }
        }

        var resourceId = pathId;
        long? revision = null;
        var attributes = JsonBody.EmptyObject;
        if (kind is MutationKind.Create or MutationKind.Update or MutationKind.Attach)
        {
            var (body, bodyProblem) = await JsonBody.ReadObjectAsync(context);
            problem ??= bodyProblem;
            if (body is { } root)
            {
                (resourceId, var idProblem) = ResolveId(kind, root, pathId);
                problem ??= idProblem;

                if (root.TryGetProperty("revision", out var rev) && rev.ValueKind == JsonValueKind.Number && rev.TryGetInt64(out var parsedRevision))
                {
                    revision = parsedRevision;
                }
                else
                {
                    problem ??= "revision is required and must be a 64-bit integer";
                }

                if (root.TryGetProperty("attributes", out var attrs) && attrs.ValueKind != JsonValueKind.Null)
                {
                    if (attrs.ValueKind == JsonValueKind.Object)
                    {
                        attributes = attrs;
                    }
                    else
                    {
                        problem ??= "attributes must be a JSON object";
                    }
                }
            }
        }

        var parents = new List<ResourceRef>();
        if (problem is null && kind is MutationKind.Create or MutationKind.Update or MutationKind.Attach)
        {
            if (kind == MutationKind.Attach)
            {
                parents.Add(new ResourceRef(Collections.Routers, routerId!));
            }

            var (named, parentProblem) = ParentLinks.Of(collection, attributes);
            parents.AddRange(named);
            problem = parentProblem;
        }

        var call = problem is null
            ? new MutationCall(resourceId!, routerId, revision ?? 0, attributes, parents, token!.Value, key!, deadline)
            : null;

        return new MutationRequest(
            request.Method,
            collection,
            request.Path.Value ?? string.Empty,
            resourceId,
            revision,
            token,
            key,
            string.IsNullOrEmpty(traceparent) ? null : traceparent,
            deadline,
            call,
            problem);
    }

    // RFC 3339 date-times: 'T' or a space between date and time, fractional digits or none, then 'Z' or ±hh:mm (an
    // offset is required; the styles' AssumeUniversal only gives the 'Z' forms their zero offset).
    private static readonly string[] DeadlineFormats =
    [
        "yyyy-MM-dd'T'HH:mm:ss'Z'", "yyyy-MM-dd'T'HH:mm:ss.FFFFFFF'Z'", "yyyy-MM-dd HH:mm:ss'Z'", "yyyy-MM-dd HH:mm:ss.FFFFFFF'Z'",
        "yyyy-MM-dd'T'HH:mm:sszzz", "yyyy-MM-dd'T'HH:mm:ss.FFFFFFFzzz", "yyyy-MM-dd HH:mm:sszzz", "yyyy-MM-dd HH:mm:ss.FFFFFFFzzz",
    ];

    private static (string? Id, string? Problem) ResolveId(MutationKind kind, JsonElement root, string? pathId)
    {
        var hasId = root.TryGetProperty("id", out var idElement);
        var bodyId = hasId && idElement.ValueKind == JsonValueKind.String ? idElement.GetString() : null;

        if (kind == MutationKind.Create)
        {
            return string.IsNullOrEmpty(bodyId)
                ? (null, "id is required and must be a non-empty string")
                : (bodyId, null);
        }

        if (kind == MutationKind.Update && hasId && idElement.ValueKind != JsonValueKind.Null
            && !string.Equals(bodyId, pathId, StringComparison.Ordinal))
        {
            return (pathId, "id in the body must match the id in the path");
        }

        return (pathId, null);
    }
}
