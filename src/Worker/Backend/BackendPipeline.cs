using Microsoft.Extensions.Options;
using OutboxSync.Leases;
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
    private readonly TimeProvider _time;
    private readonly ResiliencePipeline<BackendOutcome> _pipeline;
    private int _circuitState = BackendMetrics.Closed;

    public BackendPipeline(BackendClient client, IOptions<BackendOptions> options, TimeProvider time)
    {
        _client = client;
        _time = time;
        var o = options.Value;
        var builder = new ResiliencePipelineBuilder<BackendOutcome> { TimeProvider = time };
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
            OnOpened = _ => SetCircuitState(BackendMetrics.Open),
            OnHalfOpened = _ => SetCircuitState(BackendMetrics.HalfOpen),
            OnClosed = _ => SetCircuitState(BackendMetrics.Closed),
        });
        builder.AddTimeout(o.AttemptTimeout);
        _pipeline = builder.Build();
        BackendMetrics.SetCircuitState(BackendMetrics.Closed);
    }

    /// <summary>The breaker's state as exported: 0 closed, 1 open, 2 half-open.</summary>
    public int CircuitState => Volatile.Read(ref _circuitState);

    /// <summary>
    /// Sends <paramref name="request"/> with retries. Every attempt, retries included, starts only while
    /// <paramref name="lease"/> is trusted and is cut off when its trust window ends, so a holder that can no longer
    /// renew never has a call in flight once another replica may take the resource over.
    /// </summary>
    public async Task<BackendOutcome> SendAsync(BackendRequest request, ResourceLease? lease, CancellationToken ct)
    {
        try
        {
            return await _pipeline.ExecuteAsync(
                static async (state, token) => await state.Self.AttemptAsync(state.Request, state.Lease, token),
                (Self: this, Request: request, Lease: lease),
                ct);
        }
        catch (BrokenCircuitException e)
        {
            return new BackendOutcome(BackendOutcomeKind.CircuitOpen, null, e.Message);
        }
        catch (TimeoutRejectedException)
        {
            return new BackendOutcome(BackendOutcomeKind.Transient, null, "attempt timed out", InDoubt: true);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // Anything else (a malformed answer, a handler bug) spends an attempt, so it ends in ERROR rather
            // than a resource retried forever.
            return new BackendOutcome(BackendOutcomeKind.Transient, null, $"unexpected {e.GetType().Name}: {e.Message}");
        }
    }

    public Task<BackendOutcome> SendAsync(BackendRequest request, CancellationToken ct) => SendAsync(request, null, ct);

    private ValueTask SetCircuitState(int state)
    {
        Volatile.Write(ref _circuitState, state);
        BackendMetrics.SetCircuitState(state);
        return ValueTask.CompletedTask;
    }

    private async Task<BackendOutcome> AttemptAsync(BackendRequest request, ResourceLease? lease, CancellationToken ct)
    {
        if (lease is null)
        {
            return await _client.SendOnceAsync(request, ct);
        }
        var remaining = lease.TrustRemaining;
        if (remaining <= TimeSpan.Zero)
        {
            return new BackendOutcome(BackendOutcomeKind.LeaseExpired, null, $"lease on {lease} no longer trusted");
        }
        using var trust = new CancellationTokenSource(remaining, _time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(ct, trust.Token);
        try
        {
            return await _client.SendOnceAsync(request, linked.Token);
        }
        catch (OperationCanceledException) when (trust.IsCancellationRequested && !ct.IsCancellationRequested)
        {
            return new BackendOutcome(BackendOutcomeKind.LeaseExpired, null, $"lease on {lease} ran out mid-call", InDoubt: true);
        }
    }
}
