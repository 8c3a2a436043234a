using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace OutboxSync.Worker.Maintenance;

/// <summary>
/// Picks up reconciliation runs requested through the operator API (one replica per run), executes them with
/// <see cref="Reconciler"/>, enqueues repairs with <see cref="ReconciliationRepair"/> and records findings and a summary. Thin loop around <see cref="RunOnceAsync"/>.
/// </summary>
public sealed partial class ReconciliationJob(
    ReconciliationRuns runs,
    Reconciler reconciler,
    ReconciliationRepair repair,
    IOptions<ReconciliationOptions> options,
    TimeProvider time,
    ILogger<ReconciliationJob> logger) : BackgroundService
{
    /// <summary>Executes at most one requested run; returns its id, or null when none was waiting.</summary>
    public async Task<long?> RunOnceAsync(CancellationToken ct)
    {
        await runs.AbandonStaleAsync(options.Value.AbandonedAfter, ct);
        if (await runs.ClaimAsync(ct) is not { } run)
        {
            return null;
        }
        try
        {
            var (found, checkedCounts) = await reconciler.RunAsync(run.StartedAt, ct);
            var findings = options.Value.Repair ? await repair.EnqueueAsync(found, run.StartedAt, ct) : found;
            var summary = new
            {
                Checked = checkedCounts,
                Findings = findings.Count,
                ByKind = findings.GroupBy(f => f.Kind).ToDictionary(g => g.Key, g => g.Count()),
                RepairsEnqueued = findings.Count(f => f.RepairSeq is not null),
            };
            await runs.FinishAsync(run.Id, findings, summary, ct);
            LogFinished(logger, run.Id, findings.Count);
        }
        catch (Exception e) when (!ct.IsCancellationRequested)
        {
            LogFailed(logger, e, run.Id);
            await runs.FailAsync(run.Id, $"{e.GetType().Name}: {e.Message}", CancellationToken.None);
        }
        return run.Id;
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!options.Value.Enabled)
        {
            return;
        }
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                if (await RunOnceAsync(stoppingToken) is not null)
                {
                    continue;
                }
            }
            catch (Exception e) when (!stoppingToken.IsCancellationRequested)
            {
                LogPollFailed(logger, e);
            }
            try
            {
                await Task.Delay(options.Value.PollInterval, time, stoppingToken);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    [LoggerMessage(LogLevel.Information, "Reconciliation run {RunId} finished with {Findings} findings")]
    private static partial void LogFinished(ILogger logger, long runId, int findings);

    [LoggerMessage(LogLevel.Error, "Reconciliation run {RunId} failed")]
    private static partial void LogFailed(ILogger logger, Exception exception, long runId);

    [LoggerMessage(LogLevel.Warning, "Looking for reconciliation runs failed; retrying after the poll interval")]
    private static partial void LogPollFailed(ILogger logger, Exception exception);
}
