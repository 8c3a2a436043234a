using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Npgsql;
using Polly;
using Polly.Retry;
using OutboxSync.Leases;
using OutboxSync.Outbox;

namespace OutboxSync.Worker.Drain;

/// <summary>What one pass did: how many resources it asked for, found due, won leases on, and the in-flight total after.</summary>
public sealed record DrainResult(int Requested, int Due, int Acquired, int InFlight)
{
    public static readonly DrainResult Nothing = new(0, 0, 0, 0);

    /// <summary>The claim found work for every free slot (even if other replicas won some of it), so more is
    /// probably waiting: the loop claims again at once instead of waiting for a wake-up.</summary>
    public bool Saturated => Requested > 0 && Due >= Requested;
}

/// <summary>
/// One claim pass: take the leases on resources whose head entry is due and that nobody holds, in one statement,
/// and start a <see cref="ResourceDrainer"/> for each won lease (at most <see cref="DrainOptions.MaxInFlight"/> at a time). The drains run on after the pass returns; <see cref="WhenIdleAsync"/> awaits them.
/// </summary>
public sealed class DrainPass(
    LeaseStore leases,
    LeaseHeartbeat heartbeat,
    ResourceDrainer drainer,
    DrainSignals signals,
    IOptions<DrainOptions> options,
    ILogger<DrainPass> logger) : IAsyncDisposable
{
    private readonly ConcurrentDictionary<Guid, Task> _inFlight = new();
    private readonly CancellationTokenSource _stopping = new();
    private readonly CancellationTokenSource _abort = new();
    private static readonly ResiliencePropertyKey<ResourceLease> ReleasingLease = new("outboxsync.lease");
    private readonly ResiliencePipeline _releaseRetry = BuildReleaseRetry(signals.Time, logger);
    private int _applied;
    private int _failed;

    public string InstanceId => options.Value.InstanceId;

    public int InFlight => _inFlight.Count;

    /// <summary>Steps applied (including cancellations) and failed since start, for tests and diagnostics.</summary>
    public (int Applied, int Failed) Totals => (Volatile.Read(ref _applied), Volatile.Read(ref _failed));

    public async Task<DrainResult> RunOnceAsync(CancellationToken ct = default)
    {
        if (_stopping.IsCancellationRequested)
        {
            return DrainResult.Nothing;
        }
        var o = options.Value;
        var free = Math.Min(o.MaxInFlight - _inFlight.Count, o.BatchSize);
        if (free <= 0)
        {
            return new DrainResult(0, 0, 0, _inFlight.Count);
        }
        // Resources still finishing here (their lease may already be given up) are skipped: one drain per resource.
        var claim = await leases.AcquireDueAsync(free, o.InstanceId, _inFlight.Keys.ToList(), ct);
        var won = claim.Won;
        LeaseMetrics.RecordAcquired(won);
        foreach (var lease in won)
        {
            heartbeat.Track(lease);
            var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            _inFlight[lease.ResourceId] = started.Task;
            _ = Task.Run(async () =>
            {
                try
                {
                    await DrainOneAsync(lease);
                }
                finally
                {
                    _inFlight.TryRemove(lease.ResourceId, out _);
                    started.SetResult();
                    signals.Wake();
                }
            }, CancellationToken.None);
        }
        return new DrainResult(free, claim.Due, won.Count, _inFlight.Count);
    }

    /// <summary>Completes when every drain started so far has finished.</summary>
    public async Task WhenIdleAsync()
    {
        while (!_inFlight.IsEmpty)
        {
            await Task.WhenAll(_inFlight.Values.ToList());
        }
    }

    /// <summary>Graceful stop: no new claims or steps; in-flight calls get <paramref name="timeout"/>, then are cancelled.</summary>
    public async Task StopAsync(TimeSpan timeout)
    {
        DrainLog.Stopping(logger, InstanceId, timeout, _inFlight.Count);
        await _stopping.CancelAsync();
        var idle = WhenIdleAsync();
        if (await Task.WhenAny(idle, Task.Delay(timeout, signals.Time)) != idle)
        {
            DrainLog.ShutdownTimedOut(logger, InstanceId);
            await _abort.CancelAsync();
            await idle;
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync();
        await _abort.CancelAsync();
        await WhenIdleAsync();
        _stopping.Dispose();
        _abort.Dispose();
    }

    private async Task DrainOneAsync(ResourceLease lease)
    {
        DrainMetrics.InFlight.Add(1);
        var inDoubt = false;
        var lost = false;
        LeaseRelease? released = null;
        try
        {
            var summary = await drainer.DrainAsync(lease, _stopping.Token, _abort.Token);
            inDoubt = summary.InDoubt;
            lost = summary.LeaseLost;
            released = summary.Released;
            Interlocked.Add(ref _applied, summary.Applied + summary.Cancelled);
            Interlocked.Add(ref _failed, summary.Failed);
            DrainMetrics.Record(summary);
        }
        catch (OperationCanceledException) when (_abort.IsCancellationRequested)
        {
            // Shutdown deadline: the call's fate is unknown; the entry stays pending and the next holder resends
            // it under the same idempotency key once the lease has run out.
            inDoubt = true;
        }
        catch (Exception e)
        {
            DrainLog.DrainCrashed(logger, e, lease.ResourceId, lease.Token.Value);
        }
        finally
        {
            DrainMetrics.InFlight.Add(-1);
            heartbeat.Untrack(lease);
            // Release lets another replica (or this one) resume at once instead of waiting for expiry — unless a
            // call was abandoned without an answer: it may still run at the back end, and the lease running out
            // (unrenewed, so within Leases:Duration) is what keeps every replica from sending beside it.
            if (inDoubt)
            {
                DrainLog.LeftInDoubt(logger, lease.ResourceId, lease.Token.Value);
            }
            else if (released is { } found)
            {
                // Given up with the last confirmation, in its transaction.
                ReportRelease(lease, found, lost);
            }
            else
            {
                await ReleaseAsync(lease, lost);
            }
        }
    }

    /// <summary>Releases a finished drain's lease, retried on a fresh connection by <see cref="_releaseRetry"/>. A
    /// release that finds the lease already run out is reported: nothing stale was written (every write is
    /// token-guarded), but the drain outlived its lease, so Leases:Duration is too short for such stalls.</summary>
    private async Task ReleaseAsync(ResourceLease lease, bool knownLost)
    {
        var context = ResilienceContextPool.Shared.Get(CancellationToken.None);
        context.Properties.Set(ReleasingLease, lease);
        try
        {
            var released = await _releaseRetry.ExecuteAsync(
                static async (ctx, state) => await state.leases.ReleaseAsync(state.lease, ctx.CancellationToken), context, (leases, lease));
            ReportRelease(lease, released, knownLost);
        }
        catch (Exception e)
        {
            DrainLog.ReleaseFailed(logger, e, lease.ResourceId, lease.Token.Value);
        }
        finally
        {
            ResilienceContextPool.Shared.Return(context);
        }
    }

    private void ReportRelease(ResourceLease lease, LeaseRelease released, bool knownLost)
    {
        if (released == LeaseRelease.Released)
        {
            DrainLog.Released(logger, lease.ResourceId, lease.Token.Value);
        }
        else if (!knownLost)
        {
            DrainLog.LostBeforeRelease(logger, lease.ResourceId, lease.Token.Value, released);
            LeaseMetrics.RecordLost(LeaseMetrics.ReleaseMissed);
        }
    }

    // The release is idempotent, so a failure is retried at once: a pooled connection the server ended (restart,
    // pg_terminate_backend) fails only its first use. Left unreleased, the resource waits out Leases:Duration.
    private static ResiliencePipeline BuildReleaseRetry(TimeProvider time, ILogger logger) => new ResiliencePipelineBuilder { TimeProvider = time }
        .AddRetry(new RetryStrategyOptions
        {
            ShouldHandle = new PredicateBuilder().Handle<NpgsqlException>(),
            MaxRetryAttempts = 2,
            Delay = TimeSpan.FromMilliseconds(50),
            OnRetry = args =>
            {
                var lease = args.Context.Properties.GetValue(ReleasingLease, null!);
                DrainLog.ReleaseRetried(logger, args.Outcome.Exception, lease.ResourceId, lease.Token.Value, args.AttemptNumber + 1);
                return default;
            },
        })
        .Build();
}
