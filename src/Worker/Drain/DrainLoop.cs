using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace OutboxSync.Worker.Drain;

/// <summary>
/// Thin host loop around <see cref="DrainPass.RunOnceAsync"/>: run a pass, then wait for a wake-up (NOTIFY, or a
/// resource finishing) or the poll interval. On stop it takes no new work and gives in-flight calls the shutdown
/// timeout before leases are released.
/// </summary>
public sealed class DrainLoop(DrainPass pass, DrainSignals signals, DrainHealthCheck health, IOptions<DrainOptions> options, ILogger<DrainLoop> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var o = options.Value;
        DrainLog.Started(logger, o.InstanceId, o.MaxInFlight);
        while (!stoppingToken.IsCancellationRequested)
        {
            health.LoopTurned();
            var result = DrainResult.Nothing;
            try
            {
                result = await pass.RunOnceAsync(stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                DrainLog.PassFailed(logger, e);
            }
            if (result.Saturated && result.InFlight < o.MaxInFlight + o.ClaimAhead)
            {
                continue;
            }
            try
            {
                await signals.WaitAsync(o.PollInterval, stoppingToken);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken);
        await pass.StopAsync(options.Value.ShutdownTimeout);
    }
}
