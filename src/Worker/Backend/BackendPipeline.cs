using Microsoft.Extensions.Options;
using Polly;
using Polly.CircuitBreaker;
using Polly.Retry;
using Polly.Timeout;

namespace OutboxSync.Worker.Backend;

/// <summary>
/// Polly v8 around <see cref="BackendClient"/>: a few jittered exponential retries of transient failures, a
/// circuit breaker fed by transient failures and outages, and a per-attempt timeout. It never throws for a
/// back-end answer: the result is always a <see cref="BackendOutcome"/> (an open circuit is
/// <see cref="BackendOutcomeKind.CircuitOpen"/>, so the drain reschedules without spending attempts).
/// </summary>
public sealed class BackendPipeline
{
    private readonly BackendClient _client;
    private readonly ResiliencePipeline<BackendOutcome> _pipeline;

    public BackendPipeline(BackendClient client, IOptions<BackendOptions> options, TimeProvider time)
    {
        _client = client;
        var o = options.Value;
        var builder = new ResiliencePipelineBuilder<BackendOutcome> { TimeProvider = time };
        if (o.RetryCount > 0)
        {
            builder.AddRetry(new RetryStrategyOptions<BackendOutcome>
            {
                // Outage is not retried in-call: the back end said it is down; hammering it helps nobody.
                ShouldHandle = new PredicateBuilder<BackendOutcome>()
                    .HandleResult(r => r.Kind == BackendOutcomeKind.Transient)
                    .Handle<TimeoutRejectedException>(),
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
        });
        builder.AddTimeout(o.AttemptTimeout);
        _pipeline = builder.Build();
    }

    public async Task<BackendOutcome> SendAsync(BackendRequest request, CancellationToken ct)
    {
        try
        {
            return await _pipeline.ExecuteAsync(
                static async (state, token) => await state.Client.SendOnceAsync(state.Request, token),
                (Client: _client, Request: request),
                ct);
        }
        catch (BrokenCircuitException e)
        {
            return new BackendOutcome(BackendOutcomeKind.CircuitOpen, null, e.Message);
        }
        catch (TimeoutRejectedException)
        {
            return new BackendOutcome(BackendOutcomeKind.Transient, null, "attempt timed out");
        }
    }
}
