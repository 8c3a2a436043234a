using OutboxSync.Simulator.Calls;
using OutboxSync.Simulator.Gateway;

namespace OutboxSync.Simulator.Faults;

/// <summary>
/// Outage, latency, reset, hang and failure for /v1 reads. Mutations get the same treatment inside
/// <see cref="MutationPipeline"/>, which must first mark the call in flight.
/// </summary>
internal sealed class ReadFaultsFilter(FaultInjection faults, CallStats stats) : IEndpointFilter
{
    public async ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        var http = context.HttpContext;
        var collection = http.Request.RouteValues.TryGetValue("collection", out var value) && value is string named
            ? Collections.LabelFor(named)
            : Collections.Interfaces;
        stats.CountCall(http.Request.Method, collection);

        if (faults.OutageActive)
        {
            return GatewayResult.Outage.ToHttpResult();
        }

        return await faults.BeforeHandlingAsync(http) switch
        {
            FaultVerdict.Proceed => await next(context),
            FaultVerdict.Fail => GatewayResult.InjectedFailure.ToHttpResult(),
            _ => TypedResults.Empty,
        };
    }
}
