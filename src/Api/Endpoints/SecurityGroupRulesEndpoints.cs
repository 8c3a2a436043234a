using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;
using OutboxSync.Api.Auth;
using OutboxSync.Api.Errors;
using OutboxSync.Api.Requests;
using OutboxSync.Outbox;
using OutboxSync.Resources;

namespace OutboxSync.Api.Endpoints;

/// <summary><c>/v2.0/security-group-rules</c>: rules are created and deleted, never changed (as in Neutron).</summary>
public static class SecurityGroupRulesEndpoints
{
    private static readonly ResourceType Type = ResourceType.SecurityGroupRule;

    public static RouteGroupBuilder MapSecurityGroupRules(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/v2.0/security-group-rules").WithTags("security-group-rules");
        group.MapGet("/", List);
        group.MapGet("/{id}", Show);
        group.MapPost("/", Create);
        group.MapDelete("/{id}", Delete);
        return group;
    }

    private static NeutronException NotFound(object id) => new(404, "SecurityGroupRuleNotFound", $"Security group rule {id} does not exist");

    private static Task<Ok<JsonObject>> List(HttpContext context, [AsParameters] ResourceServices s, CancellationToken ct) =>
        ResourceReads.ListAsync(context, s, Type, s.Db.SecurityGroupRules, RenderAsync, ct);

    private static Task<Ok<JsonObject>> Show(string id, HttpContext context, [AsParameters] ResourceServices s, CancellationToken ct) =>
        ResourceReads.ShowAsync(id, context, s, Type, ct);

    private static Task<List<JsonObject>> RenderAsync(ResourceServices s, TenantContext tenant, IReadOnlyList<SecurityGroupRule> rules, CancellationToken ct) =>
        Task.FromResult(rules.Select(ResourceViews.SecurityGroupRule).ToList());

    private static async Task<Created<JsonObject>> Create(HttpContext context, [AsParameters] ResourceServices s, CancellationToken ct)
    {
        var tenant = TenantContext.From(context);
        var body = await RequestBody.ReadObjectAsync(context.Request, ct);
        var (items, bulk) = RequestBody.Envelope(body, "security_group_rule", "security_group_rules", allowBulk: true);
        var now = Revisions.Now(s.Time);
        var rules = items.Select(item => SecurityGroupRuleInput.Parse(new Attributes(item, "security_group_rule", isCreate: true), tenant)).ToList();
        var duplicate = rules.GroupBy(Match).FirstOrDefault(g => g.Count() > 1);
        if (duplicate is not null)
        {
            throw NeutronException.BadRequest("Duplicate Security Group Rule in POST.");
        }

        await s.Accept.RunAsync(async () =>
        {
            // The groups a rule names, locked in id order (no two creates wait for each other in a cycle): a group's
            // delete (which locks it the same way) then either sees this rule or makes this create find the group
            // being deleted.
            var named = rules.SelectMany(r => r.RemoteGroupId is { } remote ? [r.SecurityGroupId, remote] : new[] { r.SecurityGroupId })
                .Distinct().Order().ToList();
            var groups = new Dictionary<Guid, SecurityGroup>();
            foreach (var id in named)
            {
                var group = await s.Lookup.TryFindAsync<SecurityGroup>(ResourceType.SecurityGroup, id.ToString(), tenant, forUpdate: true, ct)
                    ?? throw SecurityGroupsEndpoints.NotFound(id);
                Revisions.EnsureNotDeleting(group);
                groups[id] = group;
            }
            foreach (var rule in rules)
            {
                var group = groups[rule.SecurityGroupId];
                if (rule.RemoteGroupId is { } remote && groups[remote].ProjectId != group.ProjectId)
                {
                    throw SecurityGroupsEndpoints.NotFound(remote);
                }
                rule.ProjectId = group.ProjectId;
                var existing = await s.Db.SecurityGroupRules.AsNoTracking()
                    .Where(r => r.SecurityGroupId == rule.SecurityGroupId && r.Status != ResourceStatus.PendingDelete
                        && r.Direction == rule.Direction && r.Ethertype == rule.Ethertype && r.Protocol == rule.Protocol
                        && r.PortRangeMin == rule.PortRangeMin && r.PortRangeMax == rule.PortRangeMax
                        && r.RemoteIpPrefix == rule.RemoteIpPrefix && r.RemoteGroupId == rule.RemoteGroupId)
                    .Select(r => (Guid?)r.Id).FirstOrDefaultAsync(ct);
                if (existing is { } id)
                {
                    throw NeutronException.Conflict("SecurityGroupRuleExists", $"Security group rule already exists. Rule id is {id}.");
                }
                Revisions.Initialize(rule, now);
                s.Db.SecurityGroupRules.Add(rule);
                s.Accept.Outbox.Append(rule, OutboxOperation.Create, () => ResourceViews.SecurityGroupRule(rule), ResourceSnapshots.RuleParents(rule));
            }
            return 0;
        }, ct);
        return Responses.Created(context.Request, Type, rules.Select(ResourceViews.SecurityGroupRule).ToList(), bulk);
    }

    private static (Guid, string, string, string?, int?, int?, string?, Guid?) Match(SecurityGroupRule r) =>
        (r.SecurityGroupId, r.Direction, r.Ethertype, r.Protocol, r.PortRangeMin, r.PortRangeMax, r.RemoteIpPrefix, r.RemoteGroupId);

    private static async Task<NoContent> Delete(string id, HttpContext context, [AsParameters] ResourceServices s, CancellationToken ct)
    {
        var tenant = TenantContext.From(context);
        await s.Accept.RunAsync(async () =>
        {
            var rule = await s.Lookup.TryFindAsync<SecurityGroupRule>(Type, id, tenant, forUpdate: true, ct)
                ?? throw NotFound(RequestBody.Truncate(id));
            Revisions.CheckIfMatch(context.Request, rule);
            if (rule.Status != ResourceStatus.PendingDelete)
            {
                SecurityGroupsEndpoints.MarkDeleted(s, rule);
            }
            return 0;
        }, ct);
        return TypedResults.NoContent();
    }
}
