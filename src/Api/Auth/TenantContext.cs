namespace OutboxSync.Api.Auth;

/// <summary>The authenticated caller of a /v2.0 request.</summary>
/// <param name="ReadOnly">The caller holds only the reader role: it may read its project but change nothing.</param>
public sealed record TenantContext(string ProjectId, bool IsAdmin, string Name, bool ReadOnly = false)
{
    private static readonly object Key = new();

    /// <summary>
    /// Neutron's default roles: <c>admin</c> sees and acts on every project, <c>member</c> acts on its own project,
    /// <c>reader</c> may only read its own project. Null when none of them is held.
    /// </summary>
    public static TenantContext? ForRoles(string projectId, string name, IEnumerable<string> roles)
    {
        var held = roles.ToHashSet(StringComparer.OrdinalIgnoreCase);
        return held.Contains("admin") ? new TenantContext(projectId, true, name)
            : held.Contains("member") ? new TenantContext(projectId, false, name)
            : held.Contains("reader") ? new TenantContext(projectId, false, name, ReadOnly: true)
            : null;
    }

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
