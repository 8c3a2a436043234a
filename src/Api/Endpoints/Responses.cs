using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http.HttpResults;

namespace OutboxSync.Api.Endpoints;

/// <summary>Neutron's envelopes and links.</summary>
public static class Responses
{
    public static JsonObject Envelope(string key, JsonNode value) => new() { [key] = value };

    public static Created<JsonObject> Created(HttpRequest request, Resources.ResourceType type, IReadOnlyList<JsonObject> items, bool bulk)
    {
        var location = $"{request.Scheme}://{request.Host}/v2.0/{type.Collection}/{items[0]["id"]}";
        return bulk
            ? TypedResults.Created(location, Envelope(type.Key, new JsonArray(items.Cast<JsonNode>().ToArray())))
            : TypedResults.Created(location, Envelope(type.Name, items[0]));
    }

    /// <summary>next/previous links as Neutron builds them: same query with a new marker.</summary>
    public static JsonArray? Links(HttpRequest request, IReadOnlyList<JsonObject> items, bool hasMore, Lists.ListRequest list,
        IReadOnlyList<string> ids)
    {
        if (list.Limit is null)
        {
            return null;
        }
        var links = new JsonArray();
        var basePath = $"{request.Scheme}://{request.Host}{request.PathBase}{request.Path}";
        string Link(string marker, bool reverse)
        {
            var query = request.Query
                .Where(q => q.Key is not ("marker" or "page_reverse"))
                .SelectMany(q => q.Value.Select(v => $"{Uri.EscapeDataString(q.Key)}={Uri.EscapeDataString(v ?? "")}"))
                .Append($"marker={marker}");
            if (reverse)
            {
                query = query.Append("page_reverse=True");
            }
            return basePath + "?" + string.Join("&", query);
        }
        var moreForward = list.PageReverse ? list.Marker is not null : hasMore;
        var moreBackward = list.PageReverse ? hasMore : list.Marker is not null;
        if (ids.Count > 0 && moreForward)
        {
            links.Add(new JsonObject { ["rel"] = "next", ["href"] = Link(ids[^1], false) });
        }
        if (ids.Count > 0 && moreBackward)
        {
            links.Add(new JsonObject { ["rel"] = "previous", ["href"] = Link(ids[0], true) });
        }
        return links;
    }

    public static JsonObject ListBody(HttpRequest request, string collection, IReadOnlyList<JsonObject> views, IReadOnlyList<string> ids,
        bool hasMore, Lists.ListRequest list)
    {
        var body = Envelope(collection, new JsonArray(views.Cast<JsonNode>().ToArray()));
        if (Links(request, views, hasMore, list, ids) is { Count: > 0 } links)
        {
            body[$"{collection}_links"] = links;
        }
        return body;
    }
}
