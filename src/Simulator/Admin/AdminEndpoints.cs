using System.Text.Json;
using Microsoft.AspNetCore.Mvc;
using OutboxSync.Simulator.Calls;
using OutboxSync.Simulator.Faults;
using OutboxSync.Simulator.Gateway;
using OutboxSync.Simulator.Violations;

namespace OutboxSync.Simulator.Admin;

/// <summary>
/// <c>/_sim</c>: the test harness's view into and control over the simulator. Never subject to faults.
/// </summary>
internal static class AdminEndpoints
{
    public static IEndpointRouteBuilder MapAdmin(this IEndpointRouteBuilder app)
    {
        app.MapGet("/healthz", () => TypedResults.Ok(new { status = "ok" }));

        var sim = app.MapGroup("/_sim");
        sim.MapGet("/faults", (FaultPlan plan) => TypedResults.Ok(plan.Current));
        sim.MapPut("/faults", UpdateFaults);
        sim.MapGet("/violations", (ViolationCounters violations) => TypedResults.Ok(violations.Snapshot()));
        sim.MapGet("/stats", Stats);
        sim.MapGet("/calls", ([FromQuery(Name = "resource_id")] string? resourceId, CallLog log) =>
            TypedResults.Ok(new ItemList<CallRecord>(log.For(string.IsNullOrEmpty(resourceId) ? null : resourceId))));
        sim.MapPost("/reset", Reset);
        sim.MapPut("/objects/{collection}/{id}", PutObject);
        sim.MapDelete("/objects/{collection}/{id}", DeleteObject);

        return app;
    }

    private static async Task<IResult> UpdateFaults(HttpContext context, FaultPlan plan)
    {
        var (body, problem) = await JsonBody.ReadObjectAsync(context);
        if (body is not { } patch)
        {
            return GatewayResult.BadRequest(problem!).ToHttpResult();
        }

        return plan.TryUpdate(patch, out var updated, out problem)
            ? TypedResults.Ok(updated)
            : GatewayResult.BadRequest(problem!).ToHttpResult();
    }

    private static IResult Stats(CallStats stats, GatewayState state, InFlightTracker inFlight) =>
        TypedResults.Ok(new SimulatorStats(
            stats.Calls(),
            stats.Outcomes(),
            state.Read(inventory => inventory.Counts()),
            inFlight.Count));

    private static IResult Reset(GatewayState state, ViolationCounters violations, CallLog log, CallStats stats)
    {
        state.Reset();
        violations.Reset();
        log.Clear();
        stats.Reset();
        return TypedResults.NoContent();
    }

    /// <summary>Drift: upserts an object with no header, fencing, revision, parent or rejection checks.</summary>
    private static async Task<IResult> PutObject(string collection, string id, HttpContext context, GatewayState state)
    {
        if (!Collections.IsKnown(collection))
        {
            return GatewayResult.NotFound($"unknown collection '{collection}'").ToHttpResult();
        }

        var (body, problem) = await JsonBody.ReadObjectAsync(context);
        if (body is not { } root)
        {
            return GatewayResult.BadRequest(problem!).ToHttpResult();
        }

        long revision = 0;
        if (root.TryGetProperty("revision", out var rev) && !(rev.ValueKind == JsonValueKind.Number && rev.TryGetInt64(out revision)))
        {
            return GatewayResult.BadRequest("revision must be a 64-bit integer").ToHttpResult();
        }

        var attributes = root.TryGetProperty("attributes", out var attrs) && attrs.ValueKind == JsonValueKind.Object
            ? attrs
            : JsonBody.EmptyObject;

        string? routerId = null;
        if (collection == Collections.Interfaces)
        {
            routerId = root.TryGetProperty("router_id", out var router) && router.ValueKind == JsonValueKind.String
                ? router.GetString()
                : null;
            if (string.IsNullOrEmpty(routerId))
            {
                return GatewayResult.BadRequest("router_id is required for interfaces").ToHttpResult();
            }
        }

        // Parents are still recorded (when well-formed) so has_children stays truthful after drift.
        var (parents, _) = ParentLinks.Of(collection, attributes);
        var links = routerId is null ? parents : [new ResourceRef(Collections.Routers, routerId), .. parents];
        var stored = state.Edit(inventory => inventory.ForcePut(collection, id, revision, attributes, links, routerId));
        return routerId is null ? TypedResults.Ok(stored.ToView()) : TypedResults.Ok(stored.ToInterfaceView());
    }

    /// <summary>Drift: removes an object with no checks and leaves no tombstone.</summary>
    private static IResult DeleteObject(string collection, string id, GatewayState state)
    {
        if (!Collections.IsKnown(collection))
        {
            return GatewayResult.NotFound($"unknown collection '{collection}'").ToHttpResult();
        }

        return state.Edit(inventory => inventory.ForceDelete(collection, id))
            ? TypedResults.NoContent()
            : GatewayResult.NotFound($"{collection}/{id} does not exist").ToHttpResult();
    }
}
