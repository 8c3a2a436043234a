using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Npgsql;
using OutboxSync.Leases;
using OutboxSync.Worker.Backend;
using OutboxSync.Worker.Drain;
using OutboxSync.Worker.Maintenance;
using Polly;
using Polly.CircuitBreaker;
using Polly.Registry;
using Polly.Retry;
using Polly.Timeout;

namespace OutboxSync.Worker.Resilience;

/// <summary>
/// Every retry, breaker and timeout of the worker, in one place: named Polly pipelines built from their options on
/// the injected <see cref="TimeProvider"/>, served by one <see cref="ResiliencePipelineProvider{TKey}"/>. What is
/// retried after a step ends (persisted backoff between attempts) is <see cref="Retry.RetrySchedule"/>, not here.
/// </summary>
public static class WorkerPipelines
{
    /// <summary>Around each back-end call (<see cref="BackendPipeline"/>): in-call retries of transient failures, the
    /// replica's circuit breaker and the per-attempt timeout, from <see cref="BackendOptions"/>.</summary>
    public const string Backend = "backend";

    /// <summary>A finished drain's lease release, from <see cref="LeaseOptions.ReleaseRetries"/>.</summary>
    public const string LeaseRelease = "lease-release";

    /// <summary>A reconciliation run's reads of back-end list pages, from <see cref="ReconciliationOptions"/>.</summary>
    public const string ReconciliationReads = "reconciliation-reads";

    /// <summary>The lease being released, for the release pipeline's retry log.</summary>
    public static readonly ResiliencePropertyKey<ResourceLease> ReleasingLease = new("outboxsync.lease");

    public static IServiceCollection AddWorkerPipelines(this IServiceCollection services)
    {
        services.AddSingleton<BackendCircuit>();
        services.AddSingleton<ResiliencePipelineProvider<string>>(sp => Create(
            sp.GetRequiredService<IOptions<BackendOptions>>().Value,
            sp.GetRequiredService<IOptions<LeaseOptions>>().Value,
            sp.GetRequiredService<IOptions<ReconciliationOptions>>().Value,
            sp.GetRequiredService<BackendCircuit>(),
            sp.GetRequiredService<TimeProvider>(),
            sp.GetRequiredService<ILoggerFactory>()));
        return services;
    }

    /// <summary>The registry of the worker's pipelines; each is built on first use and then shared.</summary>
    public static ResiliencePipelineRegistry<string> Create(BackendOptions backend, LeaseOptions leases, ReconciliationOptions reconciliation,
        BackendCircuit circuit, TimeProvider time, ILoggerFactory loggers)
    {
        var registry = new ResiliencePipelineRegistry<string>();
        registry.TryAddBuilder<BackendOutcome>(Backend, (builder, _) => ConfigureBackend(builder, backend, circuit, time));
        var drainLogger = loggers.CreateLogger<DrainPass>();
        registry.TryAddBuilder(LeaseRelease, (builder, _) =>
        {
            builder.TimeProvider = time;
            if (leases.ReleaseRetries == 0)
            {
                return;
            }
            // The release is idempotent, so a failure is retried soon: a pooled connection the server ended
            // (restart, pg_terminate_backend) fails only its first use. Left unreleased, the resource waits out
            // Leases:Duration.
            builder.AddRetry(new RetryStrategyOptions
            {
                ShouldHandle = new PredicateBuilder().Handle<NpgsqlException>(),
                MaxRetryAttempts = leases.ReleaseRetries,
                Delay = leases.ReleaseRetryDelay,
                OnRetry = args =>
                {
                    var lease = args.Context.Properties.GetValue(ReleasingLease, null!);
                    DrainLog.ReleaseRetried(drainLogger, args.Outcome.Exception, lease.ResourceId, lease.Token.Value, args.AttemptNumber + 1);
                    return default;
                },
            });
        });
        registry.TryAddBuilder(ReconciliationReads, (builder, _) =>
        {
            builder.TimeProvider = time;
            if (reconciliation.PageReadRetries == 0)
            {
                return;
            }
            // Listing a page is idempotent, so a read the network failed (or that timed out) is tried again, the
            // delay doubling. A run that still fails is recorded as failed and retried later.
            builder.AddRetry(new RetryStrategyOptions
            {
                ShouldHandle = new PredicateBuilder().Handle<HttpRequestException>().Handle<IOException>().Handle<TaskCanceledException>(),
                MaxRetryAttempts = reconciliation.PageReadRetries,
                Delay = reconciliation.PageReadRetryDelay,
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = false,
            });
        });
        return registry;
    }

    private static void ConfigureBackend(ResiliencePipelineBuilder<BackendOutcome> builder, BackendOptions o, BackendCircuit circuit, TimeProvider time)
    {
        builder.TimeProvider = time;
        if (o.RetryCount > 0)
        {
            builder.AddRetry(new RetryStrategyOptions<BackendOutcome>
            {
                // Outage is not retried in-call: the back end said it is down; hammering it helps nobody. Nor is a timed-out
                // attempt: it may still be executing at the back end, and a second call on the same resource while it
                // runs is exactly the overlap the lease exists to prevent (the drain lets the lease expire instead).
                ShouldHandle = new PredicateBuilder<BackendOutcome>()
                    .HandleResult(r => r.Kind == BackendOutcomeKind.Transient && !r.InDoubt),
                MaxRetryAttempts = o.RetryCount,
                Delay = o.RetryDelay,
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
            });
        }
        builder.AddCircuitBreaker(new CircuitBreakerStrategyOptions<BackendOutcome>
        {
            ShouldHandle = new PredicateBuilder<BackendOutcome>()
                .HandleResult(r => r.CountsAgainstBreaker)
                .Handle<TimeoutRejectedException>(),
            FailureRatio = o.BreakFailureRatio,
            MinimumThroughput = o.BreakMinimumThroughput,
            SamplingDuration = o.BreakSamplingDuration,
            BreakDuration = o.BreakDuration,
            OnOpened = _ => circuit.SetAsync(BackendMetrics.Open),
            OnHalfOpened = _ => circuit.SetAsync(BackendMetrics.HalfOpen),
            OnClosed = _ => circuit.SetAsync(BackendMetrics.Closed),
        });
        builder.AddTimeout(o.AttemptTimeout);
    }
}
