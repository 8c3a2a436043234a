using System.Globalization;
using OutboxSync.Simulator.Faults;

namespace OutboxSync.Simulator.Gateway;

/// <summary>The PLUMgrid-like <c>/v1</c> API; docs/backend-api.md is its contract.</summary>
internal static class GatewayEndpoints
{
    private const int DefaultLimit = 100;
    private const int MaxLimit = 1000;

    public static IEndpointRouteBuilder MapGateway(this IEndpointRouteBuilder app)
    {
        var v1 = app.MapGroup("/v1");

        v1.MapGet("/{collection}", ListObjects).AddEndpointFilter<ReadFaultsFilter>();
        v1.MapGet("/{collection}/{id}", GetObject).AddEndpointFilter<ReadFaultsFilter>();
        v1.MapGet("/interfaces", ListInterfaces).AddEndpointFilter<ReadFaultsFilter>();
        v1.MapGet("/routers/{routerId}/interfaces", ListRouterInterfaces).AddEndpointFilter<ReadFaultsFilter>();

        v1.MapPost("/{collection}", CreateObject);
        v1.MapPut("/{collection}/{id}", UpdateObject);
        v1.MapDelete("/{collection}/{id}", DeleteObject);
        v1.MapPut("/routers/{routerId}/interfaces/{portId}", AttachInterface);
        v1.MapDelete("/routers/{routerId}/interfaces/{portId}", DetachInterface);

        return app;
    }

    private static IResult ListObjects(string collection, string? limit, string? marker, GatewayState state)
    {
        if (!Collections.IsResource(collection))
        {
            return UnknownCollection(collection);
        }

        if (!TryParseLimit(limit, out var pageSize, out var problem))
        {
            return problem;
        }

        return TypedResults.Ok(state.Read(inventory => inventory.List(collection, EmptyAsNull(marker), pageSize)));
    }

    private static IResult GetObject(string collection, string id, GatewayState state)
    {
        if (!Collections.IsResource(collection))
        {
            return UnknownCollection(collection);
        }

        var found = state.Read(inventory => inventory.Find(collection, id));
        return found is null
            ? GatewayResult.NotFound($"{collection}/{id} does not exist").ToHttpResult()
            : TypedResults.Ok(found);
    }

    private static IResult ListInterfaces(string? limit, string? marker, GatewayState state)
    {
        if (!TryParseLimit(limit, out var pageSize, out var problem))
        {
            return problem;
        }

        return TypedResults.Ok(state.Read(inventory => inventory.ListInterfaces(EmptyAsNull(marker), pageSize)));
    }

    private static IResult ListRouterInterfaces(string routerId, GatewayState state)
    {
        var found = state.Read(inventory => inventory.InterfacesOf(routerId));
        return found is null
            ? GatewayResult.NotFound($"routers/{routerId} does not exist").ToHttpResult()
            : TypedResults.Ok(found);
    }

    private static async Task<IResult> CreateObject(string collection, HttpContext context, MutationPipeline pipeline)
    {
        if (!Collections.IsResource(collection))
        {
            return UnknownCollection(collection);
        }

        var request = await MutationRequest.ReadAsync(context, MutationKind.Create, collection, pathId: null);
        return await pipeline.RunAsync(context, request, (inventory, call) => inventory.Create(collection, call));
    }

    private static async Task<IResult> UpdateObject(string collection, string id, HttpContext context, MutationPipeline pipeline)
    {
        if (!Collections.IsResource(collection))
        {
            return UnknownCollection(collection);
        }

        var request = await MutationRequest.ReadAsync(context, MutationKind.Update, collection, id);
        return await pipeline.RunAsync(context, request, (inventory, call) => inventory.Update(collection, call));
    }

    private static async Task<IResult> DeleteObject(string collection, string id, HttpContext context, MutationPipeline pipeline)
    {
        if (!Collections.IsResource(collection))
        {
            return UnknownCollection(collection);
        }

        var request = await MutationRequest.ReadAsync(context, MutationKind.Delete, collection, id);
        return await pipeline.RunAsync(context, request, (inventory, call) => inventory.Delete(collection, call));
    }

    private static async Task<IResult> AttachInterface(string routerId, string portId, HttpContext context, MutationPipeline pipeline)
    {
        var request = await MutationRequest.ReadAsync(context, MutationKind.Attach, Collections.Interfaces, portId, routerId);
        return await pipeline.RunAsync(context, request, (inventory, call) => inventory.Attach(call));
    }

    private static async Task<IResult> DetachInterface(string routerId, string portId, HttpContext context, MutationPipeline pipeline)
    {
        var request = await MutationRequest.ReadAsync(context, MutationKind.Detach, Collections.Interfaces, portId, routerId);
        return await pipeline.RunAsync(context, request, (inventory, call) => inventory.Detach(call));
    }

    private static IResult UnknownCollection(string collection) =>
        GatewayResult.NotFound($"unknown collection '{collection}'").ToHttpResult();

    private static string? EmptyAsNull(string? value) => string.IsNullOrEmpty(value) ? null : value;

    // Parsed by hand so a bad limit gets the API's JSON error body rather than a bare binding failure.
    private static bool TryParseLimit(string? raw, out int limit, out IResult problem)
    {
        problem = TypedResults.Empty;
        if (string.IsNullOrEmpty(raw))
        {
            limit = DefaultLimit;
            return true;
        }

        if (!int.TryParse(raw, NumberStyles.None, CultureInfo.InvariantCulture, out limit) || limit < 1)
        {
            problem = GatewayResult.BadRequest("limit must be a positive integer").ToHttpResult();
            return false;
        }

        limit = Math.Min(limit, MaxLimit);
        return true;
    }
}
