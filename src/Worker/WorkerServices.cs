using Microsoft.Extensions.Options;
using OutboxSync.Hosting;
using OutboxSync.Leases;
using OutboxSync.Outbox;
using OutboxSync.Persistence;
using OutboxSync.Worker.Backend;
using OutboxSync.Worker.Drain;
using OutboxSync.Worker.Maintenance;
using OutboxSync.Worker.Ordering;
using OutboxSync.Worker.Resilience;
using OutboxSync.Worker.Retry;

namespace OutboxSync.Worker;

public static class WorkerServices
{
    /// <summary>
    /// Registers the drain and the reconciliation job: validated options (Worker, Worker:Retry, Worker:Reconciliation, Leases, Backend), lease and outbox stores,
    /// the back-end client with its pipeline, and the hosted loop, heartbeat and LISTEN services.
    /// Expects <c>AddServiceDefaults</c> (or at least <c>AddOutboxSyncDatabase()</c>: NpgsqlDataSource, TimeProvider) to be registered too.
    /// </summary>
    public static IHostApplicationBuilder AddWorkerServices(this IHostApplicationBuilder builder)
    {
        var services = builder.Services;
        services.AddOptions<DrainOptions>().Bind(builder.Configuration.GetSection(DrainOptions.Section))
            .PostConfigure(o => o.InstanceId = string.IsNullOrWhiteSpace(o.InstanceId) ? DrainOptions.DefaultInstanceId() : o.InstanceId)
            .ValidateDataAnnotations().ValidateOnStart();
        services.PostConfigure<DatabaseOptions>(o => o.MaxPoolSize ??= DatabaseOptions.WorkerMaxPoolSize);
        services.AddOptions<RetryOptions>().Bind(builder.Configuration.GetSection(RetryOptions.Section))
            .ValidateDataAnnotations().ValidateOnStart();
        services.AddOptions<LeaseOptions>().Bind(builder.Configuration.GetSection(LeaseOptions.Section))
            .ValidateDataAnnotations().ValidateOnStart();
        services.AddOptions<BackendOptions>().Bind(builder.Configuration.GetSection(BackendOptions.Section))
            .ValidateDataAnnotations().ValidateOnStart();
        services.AddOptions<ReconciliationOptions>().Bind(builder.Configuration.GetSection(ReconciliationOptions.Section))
            .ValidateDataAnnotations().ValidateOnStart();

        // In-flight calls get ShutdownTimeout; the host must wait a little longer than that for the release.
        services.AddOptions<HostOptions>().Configure<IOptions<DrainOptions>>((host, drain) =>
            host.ShutdownTimeout = drain.Value.ShutdownTimeout + TimeSpan.FromSeconds(10));

        services.AddSingleton<LeaseStore>();
        services.AddSingleton<OutboxClaim>();
        services.AddSingleton<OutboxStatistics>();
        services.AddSingleton<OutboxCompletion>();
        services.AddSingleton<DependencyRules>();
        services.AddSingleton<RetrySchedule>();
        services.AddSingleton<DrainSignals>();
        services.AddSingleton<DrainHealthCheck>();
        services.AddHealthChecks().AddCheck<DrainHealthCheck>("drain", tags: [HealthEndpoints.ReadyTag]);

        services.AddHttpClient<BackendClient>((sp, http) =>
            {
                var o = sp.GetRequiredService<IOptions<BackendOptions>>().Value;
                http.BaseAddress = new Uri(o.BaseUrl.EndsWith('/') ? o.BaseUrl : o.BaseUrl + "/");
                // The pipeline's per-attempt timeout governs; HttpClient's own would fire mid-retry.
                http.Timeout = Timeout.InfiniteTimeSpan;
            })
            .ConfigurePrimaryHttpMessageHandler(sp => new SocketsHttpHandler
            {
                PooledConnectionLifetime = TimeSpan.FromMinutes(2),
                MaxConnectionsPerServer = sp.GetRequiredService<IOptions<DrainOptions>>().Value.MaxInFlight + 4,
            });
        // One pipeline (and so one circuit breaker) per replica, around a client from the factory.
        services.AddWorkerPipelines();
        services.AddSingleton<BackendPipeline>();

        services.AddSingleton<ResourceDrainer>();
        services.AddSingleton<LeaseHeartbeat>();
        services.AddSingleton<DrainPass>();
        services.AddHostedService(sp => sp.GetRequiredService<LeaseHeartbeat>());
        services.AddHostedService<OutboxNotifications>();
        services.AddHostedService<DrainLoop>();

        services.AddSingleton<ReconciliationRuns>();
        services.AddSingleton<Reconciler>();
        services.AddSingleton<ReconciliationRepair>();
        services.AddSingleton<ReconciliationJob>();
        services.AddHostedService(sp => sp.GetRequiredService<ReconciliationJob>());
        return builder;
    }
}
