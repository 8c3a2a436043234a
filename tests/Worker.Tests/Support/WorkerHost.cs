using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using OutboxSync.Persistence;
using OutboxSync.Worker.Backend;
using OutboxSync.Worker.Drain;

namespace OutboxSync.Worker.Tests.Support;

/// <summary>A worker replica in-process: the real service graph against a test database, with fast test timings.</summary>
public sealed class WorkerHost : IAsyncDisposable
{
    private WorkerHost(IHost host) => Host = host;

    public IHost Host { get; }

    public IServiceProvider Services => Host.Services;

    public DrainPass Pass => Services.GetRequiredService<DrainPass>();

    /// <summary>Builds (does not start) a replica. <paramref name="handler"/> replaces the HTTP transport when given.</summary>
    public static WorkerHost Build(TestDatabase db, string baseUrl = "http://backend.test/", HttpMessageHandler? handler = null,
        IDictionary<string, string?>? settings = null, Action<IServiceCollection>? services = null)
    {
        var builder = Microsoft.Extensions.Hosting.Host.CreateApplicationBuilder(new HostApplicationBuilderSettings
        {
            DisableDefaults = true,
            EnvironmentName = "Testing",
        });
        var config = new Dictionary<string, string?>
        {
            ["Database:ConnectionString"] = db.ConnectionString,
            ["Backend:BaseUrl"] = baseUrl,
            ["Backend:AttemptTimeout"] = "00:00:05",
            ["Backend:RetryCount"] = "1",
            ["Backend:RetryDelay"] = "00:00:00.020",
            ["Worker:PollInterval"] = "00:00:00.100",
            ["Worker:ShutdownTimeout"] = "00:00:05",
            ["Worker:Retry:BaseDelay"] = "00:00:00.050",
            ["Worker:Retry:MaxDelay"] = "00:00:00.500",
            ["Worker:Retry:OutageDelay"] = "00:00:00.100",
            ["Worker:Retry:BlockedRecheck"] = "00:00:00.500",
        };
        foreach (var (k, v) in settings ?? new Dictionary<string, string?>())
        {
            config[k] = v;
        }
        builder.Configuration.AddInMemoryCollection(config);
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.AddOutboxSyncDatabase();
        builder.AddWorkerServices();
        if (handler is not null)
        {
            builder.Services.AddHttpClient<BackendClient>().ConfigurePrimaryHttpMessageHandler(() => handler).SetHandlerLifetime(Timeout.InfiniteTimeSpan);
        }
        services?.Invoke(builder.Services);
        return new WorkerHost(builder.Build());
    }

    public static async Task<WorkerHost> StartAsync(TestDatabase db, string baseUrl = "http://backend.test/", HttpMessageHandler? handler = null,
        IDictionary<string, string?>? settings = null)
    {
        var host = Build(db, baseUrl, handler, settings);
        await host.Host.StartAsync();
        return host;
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            await Host.StopAsync();
        }
        finally
        {
            Host.Dispose();
        }
    }
}
