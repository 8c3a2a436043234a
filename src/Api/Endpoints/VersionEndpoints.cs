using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http.HttpResults;

namespace OutboxSync.Api.Endpoints;

/// <summary>The version and resource documents clients read first; open without a token.</summary>
public static class VersionEndpoints
{
    public static IEndpointRouteBuilder MapVersions(this IEndpointRouteBuilder app)
    {
        app.MapGet("/", Versions);
        app.MapGet("/v2.0", Resources);
        return app;
    }

    private static Ok<JsonObject> Versions(HttpRequest request) => TypedResults.Ok(new JsonObject
    {
        ["versions"] = new JsonArray(new JsonObject
        {
            ["id"] = "v2.0",
            ["status"] = "CURRENT",
            ["links"] = new JsonArray(new JsonObject { ["rel"] = "self", ["href"] = $"{Base(request)}/v2.0/" }),
        }),
    });

    private static Ok<JsonObject> Resources(HttpRequest request)
    {
        var resources = new JsonArray();
        foreach (var (name, collection) in new[] { ("network", "networks"), ("subnet", "subnets"), ("port", "ports"), ("router", "routers") })
        {
            resources.Add(new JsonObject
            {
                ["name"] = name,
                ["collection"] = collection,
                ["links"] = new JsonArray(new JsonObject { ["rel"] = "self", ["href"] = $"{Base(request)}/v2.0/{collection}" }),
            });
        }
        return TypedResults.Ok(new JsonObject { ["resources"] = resources });
    }

    private static string Base(HttpRequest request) => $"{request.Scheme}://{request.Host}{request.PathBase}";
}
