using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http.HttpResults;
using OutboxSync.Api.Auth;
using OutboxSync.Api.Lists;
using OutboxSync.Resources;

namespace OutboxSync.Api.Endpoints;

/// <summary>
/// List and show, the same for every resource type: parse the query, read a page (or one resource the caller may
/// see), render the Neutron views and apply <c>fields=</c>. Each type supplies only how to render a batch, so a view
/// that needs related rows (a network's subnets, a port's addresses) loads them once per page.
/// </summary>
public static class ResourceReads
{
    /// <summary>Renders a page for <paramref name="tenant"/> (a port's view depends on who asks: <see cref="PortBindings"/>).</summary>
    public delegate Task<List<JsonObject>> Renderer<in T>(ResourceServices s, TenantContext tenant, IReadOnlyList<T> items, CancellationToken ct);

    public static async Task<Ok<JsonObject>> ListAsync<T>(HttpContext context, ResourceServices s, ResourceType type, Microsoft.EntityFrameworkCore.DbSet<T> source,
        Renderer<T> render, CancellationToken ct) where T : StandardResource
    {
        var request = ListRequest.Parse(context.Request.Query, type, s.Options.Value.MaxPageSize);
        var tenant = TenantContext.From(context);
        if (!tenant.IsAdmin && request.Filters.Select(f => f.Field).Concat(request.Sort.Select(k => k.Field)).FirstOrDefault(f => f.AdminOnly) is { } hidden)
        {
            throw Errors.NeutronException.Forbidden($"(rule:get_{type.Name}:{hidden.Name}) is disallowed by policy");
        }
        var page = await s.Lister.ListAsync(source, type, request, tenant, s.Lookup.HidePendingDeletes, ct);
        var views = (await render(s, tenant, page.Items, ct)).Select(v => ResourceViews.Select(v, request.Fields)).ToList();
        return TypedResults.Ok(Responses.ListBody(context.Request, type.Key, views, page.Items.Select(x => x.Id.ToString()).ToList(), page.HasMore, request));
    }

    public static async Task<Ok<JsonObject>> ShowAsync(string id, HttpContext context, ResourceServices s, ResourceType type, CancellationToken ct)
    {
        var view = await s.Lookup.FindViewAsync(type, id, TenantContext.From(context), ct)
            ?? throw Errors.NeutronException.NotFound(type.Name, Requests.RequestBody.Truncate(id));
        // Only the fields= part of a show's query string matters; other keys are ignored, as Neutron does.
        if (!context.Request.Query.TryGetValue("fields", out var fieldValues))
        {
            return TypedResults.Ok(Responses.Envelope(type.Name, view));
        }
        var fieldsOnly = new QueryCollection(new Dictionary<string, Microsoft.Extensions.Primitives.StringValues> { ["fields"] = fieldValues });
        var fields = ListRequest.Parse(fieldsOnly, type, 1).Fields;
        return TypedResults.Ok(Responses.Envelope(type.Name, ResourceViews.Select(view, fields)));
    }
}
