using System.Diagnostics;
using System.Diagnostics.Metrics;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace OutboxSync.Hosting;

/// <summary>
/// The project's one ActivitySource and Meter, and the OpenTelemetry wiring shared by API and worker:
/// ASP.NET Core and HttpClient instrumentation, Prometheus scraping at /metrics, optional OTLP export.
/// </summary>
public static class Telemetry
{
    public const string Name = "OutboxSync";

    public static readonly ActivitySource Source = new(Name);
    public static readonly Meter Meter = new(Name);

    public static IHostApplicationBuilder AddOutboxSyncTelemetry(this IHostApplicationBuilder builder, string serviceName)
    {
        var options = builder.Configuration.GetSection(TelemetryOptions.Section).Get<TelemetryOptions>() ?? new TelemetryOptions();
        var otel = builder.Services.AddOpenTelemetry()
            .ConfigureResource(r => r.AddService(serviceName, serviceInstanceId: Environment.MachineName + "-" + Environment.ProcessId))
            .WithMetrics(m =>
            {
                m.AddMeter(Name)
                    .AddAspNetCoreInstrumentation()
                    .AddHttpClientInstrumentation()
                    .AddPrometheusExporter();
                if (options.OtlpEndpoint is { Length: > 0 } endpoint)
                {
                    m.AddOtlpExporter(o => o.Endpoint = new Uri(endpoint));
                }
            })
            .WithTracing(t =>
            {
                // Without an exporter nobody reads spans, so none are recorded for work that starts here; a
                // request that arrives with a sampled traceparent is still recorded, so its trace context reaches
                // the outbox entry and the device call (the caller is tracing). Recording every request cost
                // about a tenth of the API's CPU per request (BENCHMARKS.md, "Cost per operation").
                if (options.OtlpEndpoint is not { Length: > 0 })
                {
                    t.SetSampler(new ParentBasedSampler(new AlwaysOffSampler()));
                }
                t.AddSource(Name)
                    .AddAspNetCoreInstrumentation(o => o.Filter = c => !c.Request.Path.StartsWithSegments("/metrics") && !c.Request.Path.StartsWithSegments("/health"))
                    .AddHttpClientInstrumentation();
                if (options.OtlpEndpoint is { Length: > 0 } endpoint)
                {
                    t.AddOtlpExporter(o => o.Endpoint = new Uri(endpoint));
                }
            });
        _ = otel;
        return builder;
    }

    public static WebApplication MapOutboxSyncMetrics(this WebApplication app)
    {
        app.MapPrometheusScrapingEndpoint("/metrics");
        return app;
    }
}
