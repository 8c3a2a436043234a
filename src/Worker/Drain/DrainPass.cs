using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using OutboxSync.Leases;
using OutboxSync.Outbox;
using OutboxSync.Worker.Resilience;
using Polly;
using Polly.Registry;

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
/// One claim pass: take the leases on resources whose head entry is due and that nobody holds, with their backlogs,
/// in one statement, and start a <see cref="ResourceDrainer"/> for each won lease (at most
/// <see cref="DrainOptions.MaxInFlight"/> at a time; those claimed ahead, <see cref="DrainOptions.ClaimAhead"/>, wait
/// for a slot). The drains run on after the pass returns; <see cref="WhenIdleAsync"/> awaits them.
/// </summary>
public sealed class DrainPass(
    OutboxClaim outbox,
    OutboxStatistics statistics,
    LeaseStore leases,
    LeaseHeartbeat heartbeat,
    ResourceDrainer drainer,
    DrainSignals signals,
    ResiliencePipelineProvider<string> pipelines,
    IOptions<DrainOptions> options,
    ILogger<DrainPass> logger) : IAsyncDisposable
{
    private readonly ConcurrentDictionary<Guid, Task> _inFlight = new();
    private readonly CancellationTokenSource _stopping = new();
    private readonly CancellationTokenSource _abort = new();
    private readonly ResiliencePipeline _releaseRetry = pipelines.GetPipeline(WorkerPipelines.LeaseRelease);
    private readonly SemaphoreSlim _slots = new(options.Value.MaxInFlight);
    private int _waiting;
    private bool _deep;
    private int _applied;
    private int _failed;
    private long _statisticsCheckedAt;
    private Task _statisticsCheck = Task.CompletedTask;

    public string InstanceId => options.Value.InstanceId;

    /// <summary>Resources this replica holds: being drained, or claimed ahead and waiting for a slot.</summary>
    public int InFlight => _inFlight.Count;

    /// <summary>Resources claimed ahead, leased and waiting for a slot.</summary>
    public int Waiting => Volatile.Read(ref _waiting);

    /// <summary>Steps applied (including cancellations) and failed since start, for tests and diagnostics.</summary>
    public (int Applied, int Failed) Totals => (Volatile.Read(ref _applied), Volatile.Read(ref _failed));

    public async Task<DrainResult> RunOnceAsync(CancellationToken ct = default)
    {
        if (_stopping.IsCancellationRequested)
        {
            return DrainResult.Nothing;
        }
        var o = options.Value;
        var held = _inFlight.Count;
        if (Waiting > 0)
        {
            // Resources claimed ahead still feed the slots that free up: the next claim waits until they are gone.
            return new DrainResult(0, 0, 0, held);
        }
        var free = Math.Min(o.MaxInFlight + (_deep ? o.ClaimAhead : 0) - held, o.BatchSize);
        if (free <= 0)
        {
            return new DrainResult(0, 0, 0, held);
        }
        // Resources still finishing here (their lease may already be given up) are skipped: one drain per resource.
        var claim = await outbox.ClaimDueAsync(free, o.InstanceId, _inFlight.Keys.ToList(), o.BacklogReadLimit, ct);
        _deep = claim.Due >= free;
        if (_deep)
        {
            CheckStatistics(o);
        }
        var won = claim.Won;
        LeaseMetrics.RecordAcquired(won.Select(r => r.Lease).ToList());
        foreach (var (lease, backlog) in won)
        {
            heartbeat.Track(lease);
            var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            _inFlight[lease.ResourceId] = started.Task;
            Interlocked.Increment(ref _waiting);
            _ = Task.Run(async () =>
            {
                try
                {
                    await _slots.WaitAsync(CancellationToken.None);
                    Interlocked.Decrement(ref _waiting);
                    try
                    {
                        await DrainOneAsync(lease, backlog);
                    }
                    finally
                    {
                        _slots.Release();
                    }
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

    /// <summary>A backlog deeper than a claim: at most once per <see cref="DrainOptions.StatisticsCheckInterval"/>, in the
    /// background (an analyse takes a few hundred ms, and the claim loop must not wait for it), let the database
    /// check that its planner sees the pending entries (<see cref="OutboxStatistics"/>).</summary>
    private void CheckStatistics(DrainOptions o)
    {
        var time = signals.Time;
        if (o.StatisticsCheckInterval <= TimeSpan.Zero || !_statisticsCheck.IsCompleted
            || (_statisticsCheckedAt != 0 && time.GetElapsedTime(_statisticsCheckedAt) < o.StatisticsCheckInterval))
        {
            return;
        }
        _statisticsCheckedAt = time.GetTimestamp();
        _statisticsCheck = Task.Run(async () =>
        {
            try
            {
                var check = await statistics.RefreshAsync(_stopping.Token);
                if (check.Analysed)
                {
                    DrainLog.AnalysedOutbox(logger, check.Pending, check.Estimated);
                }
            }
            catch (OperationCanceledException) when (_stopping.IsCancellationRequested)
            {
            }
            catch (Exception e)
            {
                DrainLog.StatisticsCheckFailed(logger, e);
            }
        }, CancellationToken.None);
    }

    /// <summary>The statistics check started by the last pass (completed if none is running), for tests.</summary>
    public Task StatisticsCheck => _statisticsCheck;

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
        await _statisticsCheck;
        _stopping.Dispose();
        _abort.Dispose();
        _slots.Dispose();
    }

    private async Task DrainOneAsync(ResourceLease lease, ResourceBacklog backlog)
    {
        DrainMetrics.InFlight.Add(1);
        var inDoubt = false;
        var lost = false;
        LeaseRelease? released = null;
        try
        {
            var summary = await drainer.DrainAsync(lease, backlog, _stopping.Token, _abort.Token);
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

    /// <summary>Releases a finished drain's lease, retried on a fresh connection (<see cref="WorkerPipelines.LeaseRelease"/>). A
    /// release that finds the lease already run out is reported: nothing stale was written (every write is
    /// token-guarded), but the drain outlived its lease, so Leases:Duration is too short for such stalls.</summary>
    private async Task ReleaseAsync(ResourceLease lease, bool knownLost)
    {
        var context = ResilienceContextPool.Shared.Get(CancellationToken.None);
        context.Properties.Set(WorkerPipelines.ReleasingLease, lease);
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
}
