namespace OutboxSync.Api.Auth;

/// <summary>The authenticated caller of a /v2.0 request.</summary>
public sealed record TenantContext(string ProjectId, bool IsAdmin, string Name)
{
    private static readonly object Key = new();

    public static TenantContext From(HttpContext context) =>
        context.Items[Key] as TenantContext ?? throw new InvalidOperationException("Request was not authenticated.");

    public void Attach(HttpContext context) => context.Items[Key] = this;

    /// <summary>Whether this caller may see a resource of <paramref name="projectId"/>.</summary>
    public bool Owns(string projectId) => IsAdmin || projectId == ProjectId;
}
