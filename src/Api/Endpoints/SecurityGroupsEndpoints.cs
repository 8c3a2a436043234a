using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;
using OutboxSync.Api.Auth;
using OutboxSync.Api.Errors;
using OutboxSync.Api.Requests;
using OutboxSync.Outbox;
using OutboxSync.Resources;

namespace OutboxSync.Api.Endpoints;

/// <summary>
/// <c>/v2.0/security-groups</c> (Neutron's <c>security-group</c> extension). A group and each of its rules are
/// resources with their own outbox entries; the API's view of a group lists its live rules.
/// </summary>
public static class SecurityGroupsEndpoints
{
    private static readonly ResourceType Type = ResourceType.SecurityGroup;

    public static RouteGroupBuilder MapSecurityGroups(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/v2.0/security-groups").WithTags("security-groups");
        group.MapGet("/", List);
        group.MapGet("/{id}", Show);
        group.MapPost("/", Create);
        group.MapPut("/{id}", Update);
        group.MapDelete("/{id}", Delete);
        return group;
    }

    public static NeutronException NotFound(object id) => new(404, "SecurityGroupNotFound", $"Security group {id} does not exist");

    private static async Task<Ok<JsonObject>> List(HttpContext context, [AsParameters] ResourceServices s, CancellationToken ct)
    {
        // Neutron makes the caller's default group on first use, a list included.
        await s.SecurityGroupDefaults.EnsureAsync(s, TenantContext.From(context).ProjectId, ct);
        return await ResourceReads.ListAsync(context, s, Type, s.Db.SecurityGroups, RenderAsync, ct);
    }

    private static Task<Ok<JsonObject>> Show(string id, HttpContext context, [AsParameters] ResourceServices s, CancellationToken ct) =>
        ResourceReads.ShowAsync(id, context, s, Type, ct);

    private static async Task<List<JsonObject>> RenderAsync(ResourceServices s, TenantContext tenant, IReadOnlyList<SecurityGroup> groups, CancellationToken ct)
    {
        var ids = groups.Select(g => g.Id).ToList();
        var rules = await s.Db.SecurityGroupRules.AsNoTracking()
            .Where(r => ids.Contains(r.SecurityGroupId) && r.Status != ResourceStatus.PendingDelete)
            .OrderBy(r => r.CreatedAt).ThenBy(r => r.Id).ToListAsync(ct);
        var byGroup = rules.ToLookup(r => r.SecurityGroupId);
        return groups.Select(g => View(g, byGroup[g.Id])).ToList();
    }

    /// <summary>The API's view: the group with its live rules.</summary>
    public static JsonObject View(SecurityGroup group, IEnumerable<SecurityGroupRule> rules)
    {
        var view = ResourceViews.SecurityGroup(group);
        view["security_group_rules"] = new JsonArray([.. rules.Select(r => (JsonNode)ResourceViews.SecurityGroupRule(r))]);
        return view;
    }

    private static async Task<Created<JsonObject>> Create(HttpContext context, [AsParameters] ResourceServices s, CancellationToken ct)
    {
        var tenant = TenantContext.From(context);
        var body = await RequestBody.ReadObjectAsync(context.Request, ct);
        var (items, bulk) = RequestBody.Envelope(body, "security_group", "security_groups", allowBulk: true);
        var now = Revisions.Now(s.Time);
        var groups = items.Select(item =>
        {
            var a = new Attributes(item, "security_group", isCreate: true);
            a.ReadOnly("id", "status", "status_reason", "revision_number", "created_at", "updated_at", "security_group_rules");
            var group = new SecurityGroup
            {
                Id = Guid.NewGuid(),
                ProjectId = tenant.OwnerOfNew(a.ProjectId()),
                Name = a.Name() ?? "",
                Description = a.Description() ?? "",
                Stateful = a.Bool("stateful") ?? true,
            };
            a.RejectUnknown();
            if (string.Equals(group.Name, SecurityGroup.DefaultName, StringComparison.OrdinalIgnoreCase))
            {
                throw NeutronException.Conflict("SecurityGroupDefaultAlreadyExists", "Default security group already exists.");
            }
            Revisions.Initialize(group, now);
            return group;
        }).ToList();

        foreach (var project in groups.Select(g => g.ProjectId).Distinct())
        {
            await s.SecurityGroupDefaults.EnsureAsync(s, project, ct);
        }
        var rules = await s.Accept.RunAsync(() => Task.FromResult(groups.Select(g => Accept(s, g)).ToList()), ct);
        var views = groups.Select((g, i) => View(g, rules[i])).ToList();
        return Responses.Created(context.Request, Type, views, bulk);
    }

    /// <summary>
    /// Adds a new group with the rules every new group starts with, and their create entries: egress to anywhere
    /// for IPv4 and IPv6, and for a project's default group also ingress from members of the group itself.
    /// Runs inside the caller's accept transaction.
    /// </summary>
    public static List<SecurityGroupRule> Accept(ResourceServices s, SecurityGroup group)
    {
        s.Db.SecurityGroups.Add(group);
        s.Accept.Outbox.Append(group, OutboxOperation.Create, () => ResourceViews.SecurityGroup(group));
        var directions = group.IsDefault ? new[] { SecurityGroupRule.Egress, SecurityGroupRule.Ingress } : [SecurityGroupRule.Egress];
        var rules = new List<SecurityGroupRule>();
        foreach (var direction in directions)
        {
            foreach (var ethertype in new[] { SecurityGroupRule.IPv4, SecurityGroupRule.IPv6 })
            {
                var rule = new SecurityGroupRule
                {
                    Id = Guid.NewGuid(),
                    ProjectId = group.ProjectId,
                    SecurityGroupId = group.Id,
                    Direction = direction,
                    Ethertype = ethertype,
                    RemoteGroupId = direction == SecurityGroupRule.Ingress ? group.Id : null,
                };
                Revisions.Initialize(rule, group.CreatedAt);
                s.Db.SecurityGroupRules.Add(rule);
                s.Accept.Outbox.Append(rule, OutboxOperation.Create, () => ResourceViews.SecurityGroupRule(rule), ResourceSnapshots.RuleParents(rule));
                rules.Add(rule);
            }
        }
        return rules;
    }

    private static async Task<Ok<JsonObject>> Update(string id, HttpContext context, [AsParameters] ResourceServices s, CancellationToken ct)
    {
        var tenant = TenantContext.From(context);
        var body = await RequestBody.ReadObjectAsync(context.Request, ct);
        var (items, _) = RequestBody.Envelope(body, "security_group", "security_groups", allowBulk: false);
        var a = new Attributes(items[0], "security_group", isCreate: false);
        a.ReadOnly("id", "project_id", "tenant_id", "status", "status_reason", "revision_number", "created_at", "updated_at", "tags",
            "security_group_rules");
        var name = a.Name();
        var description = a.Description();
        var stateful = a.Bool("stateful");
        a.RejectUnknown();

        var view = await s.Accept.RunAsync(async () =>
        {
            var group = await FindAsync(s, id, tenant, ct);
            Revisions.CheckIfMatch(context.Request, group);
            Revisions.EnsureNotDeleting(group);
            if (group.IsDefault && name is not null && name != group.Name)
            {
                throw NeutronException.Conflict("SecurityGroupCannotUpdateDefault", "Updating default security group not allowed.");
            }
            if (!group.IsDefault && string.Equals(name, SecurityGroup.DefaultName, StringComparison.OrdinalIgnoreCase))
            {
                throw NeutronException.Conflict("SecurityGroupDefaultAlreadyExists", "Default security group already exists.");
            }
            if (stateful is { } changed && changed != group.Stateful)
            {
                // Neutron refuses to change how a group filters traffic while ports use it.
                await s.Db.Database.ExecuteSqlRawAsync("select outbox_lock_security_group({0})", [group.Id], ct);
                if (await InUseAsync(s, group, ct))
                {
                    throw InUse(group.Id);
                }
                group.Stateful = changed;
            }
            group.Name = name ?? group.Name;
            group.Description = description ?? group.Description;
            var operation = Revisions.Bump(group, Revisions.Now(s.Time));
            s.Accept.Outbox.Append(group, operation, () => ResourceViews.SecurityGroup(group));
            return View(group, await LiveRulesAsync(s, group.Id, ct));
        }, ct);
        return TypedResults.Ok(Responses.Envelope("security_group", view));
    }

    private static async Task<NoContent> Delete(string id, HttpContext context, [AsParameters] ResourceServices s, CancellationToken ct)
    {
        var tenant = TenantContext.From(context);
        string? defaultOf = null;
        await s.Accept.RunAsync(async () =>
        {
            var group = await FindAsync(s, id, tenant, ct);
            Revisions.CheckIfMatch(context.Request, group);
            if (group.Status == ResourceStatus.PendingDelete)
            {
                return 0;
            }
            if (group.IsDefault && !tenant.IsAdmin)
            {
                throw NeutronException.Conflict("SecurityGroupCannotRemoveDefault", "Removing default security group not allowed.");
            }
            // Exclusive: waits for port creates and updates that name the group (they hold it shared until they
            // commit), and makes later ones wait and then see the group being deleted.
            await s.Db.Database.ExecuteSqlRawAsync("select outbox_lock_security_group({0})", [group.Id], ct);
            if (await InUseAsync(s, group, ct))
            {
                throw InUse(group.Id);
            }
            // The group's rules, and other groups' rules that name it as their remote side, go with it (as in
            // Neutron). Their deletes come first; the group's delete then waits for them at the back end.
            var rules = await s.Db.SecurityGroupRules
                .FromSqlRaw("select * from security_group_rules where (security_group_id = {0} or remote_group_id = {0}) and status <> 'PENDING_DELETE' order by id for update", group.Id)
                .ToListAsync(ct);
            foreach (var rule in rules)
            {
                MarkDeleted(s, rule);
            }
            if (group.IsDefault)
            {
                defaultOf = group.ProjectId;
            }
            group.IsDefault = false;
            group.Status = ResourceStatus.PendingDelete;
            group.StatusReason = null;
            s.Accept.Outbox.Append(group, OutboxOperation.Delete, () => ResourceViews.SecurityGroup(group));
            return 0;
        }, ct);
        if (defaultOf is not null)
        {
            s.SecurityGroupDefaults.Forget(defaultOf);
        }
        return TypedResults.NoContent();
    }

    /// <summary>A rule's delete: the row stays, PENDING_DELETE, until the back end confirmed it.</summary>
    public static void MarkDeleted(ResourceServices s, SecurityGroupRule rule)
    {
        rule.Status = ResourceStatus.PendingDelete;
        rule.StatusReason = null;
        s.Accept.Outbox.Append(rule, OutboxOperation.Delete, () => ResourceViews.SecurityGroupRule(rule), ResourceSnapshots.RuleParents(rule));
    }

    /// <summary>The group, locked for the rest of the accept transaction; owned by the caller (or admin).</summary>
    public static async Task<SecurityGroup> FindAsync(ResourceServices s, string id, TenantContext tenant, CancellationToken ct) =>
        await s.Lookup.TryFindAsync<SecurityGroup>(Type, id, tenant, forUpdate: true, ct) ?? throw NotFound(RequestBody.Truncate(id));

    private static Task<List<SecurityGroupRule>> LiveRulesAsync(ResourceServices s, Guid groupId, CancellationToken ct) =>
        s.Db.SecurityGroupRules.AsNoTracking()
            .Where(r => r.SecurityGroupId == groupId && r.Status != ResourceStatus.PendingDelete)
            .OrderBy(r => r.CreatedAt).ThenBy(r => r.Id).ToListAsync(ct);

    // Ports may only use their own project's groups (the port guard), so the project's ports are the candidates.
    private static Task<bool> InUseAsync(ResourceServices s, SecurityGroup group, CancellationToken ct) =>
        s.Db.Ports.AnyAsync(p => p.ProjectId == group.ProjectId && p.ReleasedAt == null && p.SecurityGroups.Contains(group.Id), ct);

    private static NeutronException InUse(Guid id) => NeutronException.Conflict("SecurityGroupInUse", $"Security Group {id} in use.");
}
