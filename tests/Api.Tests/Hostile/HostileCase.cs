namespace OutboxSync.Api.Tests.Hostile;

/// <summary>What a hostile case may do to the API.</summary>
public enum HostileExpectation
{
    /// <summary>Malformed by construction: must be a 4xx and must change nothing.</summary>
    Rejected,

    /// <summary>A read (GET) with hostile input: any status below 500, and it changes nothing.</summary>
    ReadOnly,

    /// <summary>Hostile but possibly valid (metacharacters in a free-text field): any status below 500; if accepted,
    /// the value must be stored verbatim.</summary>
    MayWrite,
}

/// <summary>One generated request. <see cref="Endpoint"/> groups cases for the per-endpoint counts.</summary>
public sealed record HostileCase(
    string Endpoint,
    string Method,
    string Path,
    byte[]? Body,
    string? ContentType,
    HostileExpectation Expect,
    string Why,
    string? Token,
    IReadOnlyList<KeyValuePair<string, string>>? Headers = null,
    Func<ApiResponse, string?>? Verify = null)
{
    /// <summary>When set, the one status this case must get (oversized bodies: 413).</summary>
    public int? ExactStatus { get; init; }

    /// <summary>Content type placeholder meaning "send the body with no Content-Type header".</summary>
    public const string NoContentType = "<none>";

    public override string ToString()
    {
        var path = Path.Length > 160 ? Path[..160] + "…" : Path;
        return $"[{Endpoint}] {Method} {path} ({Why})";
    }
}
