using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;

namespace OutboxSync.Hosting;

/// <summary>Liveness (the process serves requests) and readiness (every "ready" check passes).</summary>
public static class HealthEndpoints
{
    public const string ReadyTag = "ready";

    public static IHostApplicationBuilder AddOutboxSyncHealth(this IHostApplicationBuilder builder)
    {
        builder.Services.AddHealthChecks().AddCheck<SchemaHealthCheck>("database", tags: [ReadyTag]);
        return builder;
    }

    public static IEndpointRouteBuilder MapOutboxSyncHealth(this IEndpointRouteBuilder app)
    {
        app.MapHealthChecks("/health/live", new HealthCheckOptions { Predicate = _ => false });
        app.MapHealthChecks("/health/ready", new HealthCheckOptions
        {
            Predicate = c => c.Tags.Contains(ReadyTag),
            ResponseWriter = WriteAsync,
        });
        return app;
    }

    private static Task WriteAsync(HttpContext context, HealthReport report)
    {
        context.Response.ContentType = "application/json";
        var body = new System.Text.Json.Nodes.JsonObject
        {
            ["status"] = report.Status.ToString(),
            ["checks"] = new System.Text.Json.Nodes.JsonObject(report.Entries.Select(e =>
                KeyValuePair.Create(e.Key, (System.Text.Json.Nodes.JsonNode?)new System.Text.Json.Nodes.JsonObject
                {
                    ["status"] = e.Value.Status.ToString(),
                    ["description"] = e.Value.Description,
                }))),
        };
        return context.Response.WriteAsync(body.ToJsonString());
    }
}
