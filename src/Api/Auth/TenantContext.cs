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

    /// <summary>The project a new resource belongs to: the caller's own, or — for admin only — the one it names.</summary>
    public string OwnerOfNew(string? requestedProject) =>
        requestedProject is null || requestedProject == ProjectId ? ProjectId
        : IsAdmin ? requestedProject
        : throw Errors.NeutronException.Forbidden("(rule:create_resource and rule:create_resource:project_id) is disallowed by policy");
}
