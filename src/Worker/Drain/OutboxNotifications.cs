using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Npgsql;
using OutboxSync.Outbox;
using OutboxSync.Persistence;

namespace OutboxSync.Worker.Drain;

/// <summary>
/// LISTEN outbox_wakeup on a dedicated connection straight to PostgreSQL and wake the drain on each notification.
/// Notifications are hints: the loop polls anyway, and after every (re)connect it wakes once to catch up on
/// anything sent while it was not listening.
/// </summary>
public sealed class OutboxNotifications(
    DrainSignals signals,
    DrainHealthCheck health,
    IOptions<DrainOptions> drainOptions,
    IOptions<DatabaseOptions> databaseOptions,
    TimeProvider time,
    ILogger<OutboxNotifications> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!drainOptions.Value.ListenForNotifications)
        {
            return;
        }
        var connectionString = new NpgsqlConnectionStringBuilder(
            drainOptions.Value.NotificationConnectionString ?? databaseOptions.Value.ConnectionString)
        {
            // Dedicated: never returned to a pool where another user could inherit (or drop) the LISTEN.
            Pooling = false,
            KeepAlive = 15,
        }.ConnectionString;
        var backoff = TimeSpan.FromMilliseconds(500);
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await using var connection = new NpgsqlConnection(connectionString);
                await connection.OpenAsync(stoppingToken);
                connection.Notification += (_, _) => signals.Wake();
                await using (var listen = new NpgsqlCommand($"listen {OutboxWakeupChannel.Name}", connection))
                {
                    await listen.ExecuteNonQueryAsync(stoppingToken);
                }
                DrainLog.Listening(logger);
                health.Listening(true);
                backoff = TimeSpan.FromMilliseconds(500);
                signals.Wake();
                while (!stoppingToken.IsCancellationRequested)
                {
                    await connection.WaitAsync(stoppingToken);
                }
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                health.Listening(false);
                DrainLog.ListenFailed(logger, e, backoff);
                try
                {
                    await Task.Delay(backoff, time, stoppingToken);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
                backoff = TimeSpan.FromTicks(Math.Min(backoff.Ticks * 2, TimeSpan.FromSeconds(30).Ticks));
            }
        }
    }
}
