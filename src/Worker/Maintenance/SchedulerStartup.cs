using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Npgsql;
using Quartz;

namespace OutboxSync.Worker.Maintenance;

/// <summary>
/// Starts the clustered Quartz scheduler in the background and keeps trying while the database is unreachable.
/// Quartz's own hosted service creates the scheduler (schema check, trigger declarations) inside the host's start:
/// a database that is restarting then stops the worker at start, and a slow one holds back Kestrel, so health
/// never answers, although the drain already runs. The drain does not need Quartz; maintenance joins when it can.
/// Thin loop around <see cref="TryStartAsync"/>.
/// </summary>
public sealed partial class SchedulerStartup(ISchedulerFactory factory, NpgsqlDataSource dataSource, TimeProvider time, ILogger<SchedulerStartup> logger)
    : BackgroundService
{
    private static readonly TimeSpan FirstRetry = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan LastRetry = TimeSpan.FromSeconds(30);

    private IScheduler? _scheduler;

    /// <summary>The running scheduler, once started.</summary>
    public IScheduler? Scheduler => _scheduler;

    /// <summary>One attempt to create (declare the triggers of) and start the scheduler; false when the database failed it.</summary>
    public async Task<bool> TryStartAsync(CancellationToken ct)
    {
        if (!await QuartzTablesAnswerAsync(ct))
        {
            return false;
        }
        try
        {
            // Quartz builds its scheduler once: a database failure during that build can leave it shut down for good,
            // which is why the tables must answer first. Later failures are retried all the same.
            var scheduler = await factory.GetScheduler(ct);
            await scheduler.Start(ct);
            _scheduler = scheduler;
            return true;
        }
        catch (Exception e) when (!ct.IsCancellationRequested && e is SchedulerException or NpgsqlException or TimeoutException)
        {
            LogStartFailed(logger, e);
            return false;
        }
    }

    private async Task<bool> QuartzTablesAnswerAsync(CancellationToken ct)
    {
        try
        {
            await using var cmd = dataSource.CreateCommand("select count(*) from qrtz_locks");
            await cmd.ExecuteScalarAsync(ct);
            return true;
        }
        catch (Exception e) when (!ct.IsCancellationRequested && e is NpgsqlException or TimeoutException)
        {
            LogStartFailed(logger, e);
            return false;
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var delay = FirstRetry;
        while (!await TryStartAsync(stoppingToken))
        {
            try
            {
                await Task.Delay(delay, time, stoppingToken);
            }
            catch (OperationCanceledException)
            {
                return;
            }
            delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, LastRetry.Ticks));
        }
        LogStarted(logger);
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken);
        if (_scheduler is { } scheduler)
        {
            // Running jobs finish first, as Quartz's hosted service does with WaitForJobsToComplete.
            await scheduler.Shutdown(waitForJobsToComplete: true, cancellationToken);
        }
    }

    [LoggerMessage(LogLevel.Information, "Maintenance scheduler started")]
    private static partial void LogStarted(ILogger logger);

    [LoggerMessage(LogLevel.Warning, "Could not start the maintenance scheduler (database unreachable?); the drain runs meanwhile and the start is retried")]
    private static partial void LogStartFailed(ILogger logger, Exception exception);
}
