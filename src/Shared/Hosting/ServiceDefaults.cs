using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Hosting;
using OutboxSync.Persistence;

namespace OutboxSync.Hosting;

/// <summary>
/// What every OutboxSync service (API and worker) needs, registered in one place, in eShop's manner: the shipped
/// settings, the database (data source, DbContext, <see cref="TimeProvider"/>), health checks and telemetry. Each
/// Program.cs calls <see cref="AddServiceDefaults"/> first and <see cref="MapServiceDefaults"/> after building.
/// </summary>
public static class ServiceDefaults
{
    /// <param name="serviceName">The service's name in traces and metrics, e.g. <c>outboxsync-api</c>.</param>
    public static IHostApplicationBuilder AddServiceDefaults(this IHostApplicationBuilder builder, string serviceName)
    {
        builder.UseShippedSettings();
        builder.AddOutboxSyncDatabase();
        builder.AddOutboxSyncHealth();
        builder.AddOutboxSyncTelemetry(serviceName);
        return builder;
    }

    /// <summary>The liveness and readiness endpoints and the Prometheus scrape endpoint.</summary>
    public static WebApplication MapServiceDefaults(this WebApplication app)
    {
        app.MapOutboxSyncHealth();
        app.MapOutboxSyncMetrics();
        return app;
    }
}
