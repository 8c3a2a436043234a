using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http.HttpResults;
using OutboxSync.Api.Auth;
using OutboxSync.Api.Errors;
using OutboxSync.Api.Requests;
using OutboxSync.Outbox;
using OutboxSync.Resources;

namespace OutboxSync.Api.Endpoints;

/// <summary>
/// Neutron's tag extension on every resource. A tag change is a client change: it bumps the revision and goes
/// through the outbox like any update, so revision_number and the back end stay in step.
/// </summary>
public static class TagsEndpoints
{
    private const int MaxTagLength = 255;
    private const int MaxTags = 100;

    public static IEndpointRouteBuilder MapTags(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/v2.0/{collection:regex(^(networks|subnets|ports|routers|security-groups|subnetpools)$)}/{id}/tags").WithTags("tags");
        group.MapGet("/", List);
        group.MapPut("/", ReplaceAll);
        group.MapDelete("/", RemoveAll);
        group.MapGet("/{tag}", Check);
        group.MapPut("/{tag}", Add);
        group.MapDelete("/{tag}", Remove);
        return app;
    }

    private static async Task<Ok<JsonObject>> List(string collection, string id, HttpContext context, [AsParameters] ResourceServices s, CancellationToken ct)
    {
        var resource = await FindAsync(s, collection, id, TenantContext.From(context), forUpdate: false, ct);
        return TypedResults.Ok(TagsBody(resource));
    }

    private static async Task<NoContent> Check(string collection, string id, string tag, HttpContext context, [AsParameters] ResourceServices s, CancellationToken ct)
    {
        var resource = await FindAsync(s, collection, id, TenantContext.From(context), forUpdate: false, ct);
        return resource.Tags.Contains(tag) ? TypedResults.NoContent() : throw TagNotFound(resource, tag);
    }

    private static async Task<Created> Add(string collection, string id, string tag, HttpContext context, [AsParameters] ResourceServices s, CancellationToken ct)
    {
        Validate(tag);
        await ChangeAsync(s, context, collection, id, tags => tags.Contains(tag) ? null : [.. tags, tag], ct);
        return TypedResults.Created();
    }

    private static async Task<NoContent> Remove(string collection, string id, string tag, HttpContext context, [AsParameters] ResourceServices s, CancellationToken ct)
    {
        await ChangeAsync(s, context, collection, id, tags => tags.Contains(tag)
            ? tags.Where(t => t != tag).ToList()
            : throw new NeutronException(404, "TagNotFound", $"Tag {RequestBody.Truncate(tag)} could not be found for {collection[..^1]} {id}."), ct);
        return TypedResults.NoContent();
    }

    private static async Task<NoContent> RemoveAll(string collection, string id, HttpContext context, [AsParameters] ResourceServices s, CancellationToken ct)
    {
        await ChangeAsync(s, context, collection, id, tags => tags.Count == 0 ? null : [], ct);
        return TypedResults.NoContent();
    }

    private static async Task<Ok<JsonObject>> ReplaceAll(string collection, string id, HttpContext context, [AsParameters] ResourceServices s, CancellationToken ct)
    {
        var body = await RequestBody.ReadObjectAsync(context.Request, ct);
        var a = new Attributes(body, "tags", isCreate: false);
        var tags = a.StringList("tags", MaxTags, MaxTagLength) ?? throw NeutronException.BadRequest("Invalid tags body: expected {\"tags\": [...]}.");
        a.RejectUnknown();
        tags.ForEach(Validate);
        var distinct = tags.Distinct().ToList();
        var resource = await ChangeAsync(s, context, collection, id,
            current => current.Order().SequenceEqual(distinct.Order()) ? null : distinct, ct);
        return TypedResults.Ok(TagsBody(resource));
    }

    /// <param name="change">New tag list, or null when nothing changes (no revision bump, no outbox entry).</param>
    private static async Task<StandardResource> ChangeAsync(ResourceServices s, HttpContext context, string collection, string id,
        Func<List<string>, List<string>?> change, CancellationToken ct)
    {
        var tenant = TenantContext.From(context);
        return await s.Accept.RunAsync(async () =>
        {
            var resource = await FindAsync(s, collection, id, tenant, forUpdate: true, ct);
            Revisions.CheckIfMatch(context.Request, resource);
            var tags = change(resource.Tags);
            if (tags is null)
            {
                return resource;
            }
            if (tags.Count > MaxTags)
            {
                throw NeutronException.BadRequest($"A resource can have at most {MaxTags} tags.");
            }
            Revisions.EnsureNotDeleting(resource);
            resource.Tags = tags;
            var operation = Revisions.Bump(resource, Revisions.Now(s.Time));
            if (resource is Port port && await RouterInterfaces.InterfaceChangeAsync(s, port, ct) is { } asInterface)
            {
                s.Accept.Outbox.Append(resource, asInterface.Operation, asInterface.Snapshot, asInterface.Parents);
                return resource;
            }
            var parents = await ParentsAsync(s, resource, ct);
            s.Accept.Outbox.Append(resource, operation, () => View(s, resource, parents.SubnetIds), parents.Ids);
            return resource;
        }, ct);
    }

    private static async Task<(List<Guid> Ids, List<Guid> SubnetIds)> ParentsAsync(ResourceServices s, StandardResource resource, CancellationToken ct) =>
        resource switch
        {
            Network n => ([], (await s.Lookup.SubnetIdsAsync([n.Id], ct)).GetValueOrDefault(n.Id) ?? []),
            Subnet sub => (ResourceSnapshots.SubnetParents(sub), []),
            Port p => (ResourceSnapshots.PortParents(p).ToList(), []),
            _ => ([], []),
        };

    private static JsonObject View(ResourceServices s, StandardResource resource, List<Guid> subnetIds) => resource switch
    {
        Network n => ResourceViews.Network(n, subnetIds),
        Subnet sub => ResourceViews.Subnet(sub),
        Port p => ResourceViews.Port(p),
        Router r => ResourceViews.Router(r),
        SecurityGroup g => ResourceViews.SecurityGroup(g),
        SubnetPool pool => ResourceViews.SubnetPool(pool),
        _ => throw new InvalidOperationException(),
    };

    private static async Task<StandardResource> FindAsync(ResourceServices s, string collection, string id, TenantContext tenant, bool forUpdate, CancellationToken ct)
    {
        // Route constraints match case-insensitively; Neutron's paths are lower-case only.
        var type = ResourceType.FromCollection(collection)
            ?? throw new NeutronException(404, "HTTPNotFound", "The resource could not be found.");
        return type.Name switch
        {
            "network" => await s.Lookup.FindAsync<Network>(type, id, tenant, forUpdate, ct),
            "subnet" => await s.Lookup.FindAsync<Subnet>(type, id, tenant, forUpdate, ct),
            "port" => await s.Lookup.FindAsync<Port>(type, id, tenant, forUpdate, ct),
            "security_group" => await s.Lookup.FindAsync<SecurityGroup>(type, id, tenant, forUpdate, ct),
            "subnetpool" => await s.Lookup.FindAsync<SubnetPool>(type, id, tenant, forUpdate, ct),
            _ => await s.Lookup.FindAsync<Router>(type, id, tenant, forUpdate, ct),
        };
    }

    private static void Validate(string tag)
    {
        if (tag.Length is 0 or > MaxTagLength || tag.Contains(',', StringComparison.Ordinal) || tag.Any(char.IsControl))
        {
            throw NeutronException.BadRequest($"Invalid input for tags. Reason: '{RequestBody.Truncate(tag)}' is not a valid tag (1-{MaxTagLength} characters, no commas).");
        }
    }

    private static NeutronException TagNotFound(StandardResource resource, string tag) =>
        new(404, "TagNotFound", $"Tag {RequestBody.Truncate(tag)} could not be found for {resource.Type.Name} {resource.Id}.");

    private static JsonObject TagsBody(StandardResource resource) =>
        new() { ["tags"] = new JsonArray(resource.Tags.Order(StringComparer.Ordinal).Select(t => (JsonNode)t).ToArray()) };
}
