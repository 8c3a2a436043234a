using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using OutboxSync.Simulator.Calls;
using OutboxSync.Simulator.Faults;
using OutboxSync.Simulator.Gateway;
using OutboxSync.Simulator.Violations;

namespace OutboxSync.Simulator;

/// <summary>Wires the simulator's singletons; all state lives in these for the life of the process.</summary>
internal static class SimulatorServices
{
    public static IServiceCollection AddSimulator(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<SimulatorOptions>()
            .Bind(configuration.GetSection(SimulatorOptions.SectionName))
            .ValidateOnStart();
        services.AddSingleton<IValidateOptions<SimulatorOptions>, SimulatorOptionsValidator>();

        // TryAdd so tests can substitute a fake clock.
        services.TryAddSingleton(TimeProvider.System);

        services.AddSingleton<FaultPlan>();
        services.AddSingleton<FaultInjection>();
        services.AddSingleton<ViolationCounters>();
        services.AddSingleton<InFlightTracker>();
        services.AddSingleton<CallLog>();
        services.AddSingleton<CallStats>();
        services.AddSingleton<GatewayState>();
        services.AddSingleton<MutationPipeline>();

        services.ConfigureHttpJsonOptions(json =>
        {
            json.SerializerOptions.PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower;
            json.SerializerOptions.Converters.Add(new JsonStringEnumConverter(JsonNamingPolicy.SnakeCaseLower));
        });

        return services;
    }
}
