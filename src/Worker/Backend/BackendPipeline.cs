using OutboxSync.Leases;
using OutboxSync.Worker.Resilience;
using Microsoft.Extensions.Options;
using Polly;
using Polly.CircuitBreaker;
using Polly.Registry;
using Polly.Timeout;

namespace OutboxSync.Worker.Backend;

/// <summary>
/// <see cref="BackendClient"/> through the <see cref="WorkerPipelines.Backend"/> pipeline: a few jittered exponential
/// retries of transient failures, a circuit breaker fed by transient failures and outages, and a per-attempt timeout. It never throws for a
/// back-end answer: the result is always a <see cref="BackendOutcome"/> (an open circuit is
/// <see cref="BackendOutcomeKind.CircuitOpen"/>, so the drain reschedules without spending attempts).
/// </summary>
public sealed class BackendPipeline(
    BackendClient client, ResiliencePipelineProvider<string> pipelines, BackendCircuit circuit, IOptions<BackendOptions> options, TimeProvider time)
{
    private readonly TimeSpan _attemptTimeout = options.Value.AttemptTimeout;
    private readonly ResiliencePipeline<BackendOutcome> _pipeline = pipelines.GetPipeline<BackendOutcome>(WorkerPipelines.Backend);

    /// <summary>The breaker's state as exported: 0 closed, 1 open, 2 half-open.</summary>
    public int CircuitState => circuit.State;

    /// <summary>
    /// Sends <paramref name="request"/> with retries. Every attempt, retries included, starts only while
    /// <paramref name="lease"/> is trusted and is cut off when its trust window ends, so a holder that can no longer
    /// renew never has a call in flight once another replica may take the resource over. Each attempt also tells the
    /// back end that instant (<see cref="BackendClient.DeadlineHeader"/>), so the guarantee holds when this process
    /// stalls and cannot cut its own call off: the back end ends the call at the deadline instead.
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


    private async Task<BackendOutcome> AttemptAsync(BackendRequest request, ResourceLease? lease, CancellationToken ct)
    {
        // The deadline is when we stop waiting: the attempt timeout, or the end of the lease's trust window if sooner.
        // It is taken on the wall clock (the back end cannot read our monotonic one), so the two hosts' clocks must
        // agree to well within Leases:SafetyMargin (docs/worker.md).
        var now = time.GetUtcNow();
        if (lease is null)
        {
            return await client.SendOnceAsync(request, now + _attemptTimeout, ct);
        }
        var remaining = lease.TrustRemaining;
        if (remaining <= TimeSpan.Zero)
        {
            return new BackendOutcome(BackendOutcomeKind.LeaseExpired, null, $"lease on {lease} no longer trusted");
        }
        using var trust = new CancellationTokenSource(remaining, time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(ct, trust.Token);
        try
        {
            return await client.SendOnceAsync(request, now + (remaining < _attemptTimeout ? remaining : _attemptTimeout), linked.Token);
        }
        catch (OperationCanceledException) when (trust.IsCancellationRequested && !ct.IsCancellationRequested)
        {
            return new BackendOutcome(BackendOutcomeKind.LeaseExpired, null, $"lease on {lease} ran out mid-call", InDoubt: true);
        }
    }
}
