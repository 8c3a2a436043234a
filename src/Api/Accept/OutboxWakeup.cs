using System.Threading.Channels;
using Microsoft.Extensions.Options;
using Npgsql;
using OutboxSync.Outbox;

namespace OutboxSync.Api.Accept;

/// <summary>
/// Wakes the workers after commits with <c>NOTIFY outbox_wakeup</c>, sent from here and never inside an accept
/// transaction: a NOTIFY in every accept transaction serialises commits (PostgreSQL takes a global lock at
/// commit for it). Pokes that arrive while one NOTIFY is in flight, or within <see cref="ApiOptions.WakeupInterval"/>
/// after it, collapse into the next one: under load every worker would otherwise wake (and claim) several hundred
/// times a second for work it is already busy with (BENCHMARKS.md, T3). A poke after a quiet spell goes at once.
/// </summary>
public sealed partial class OutboxWakeup(NpgsqlDataSource dataSource, IOptions<ApiOptions> options, TimeProvider time, ILogger<OutboxWakeup> logger) : BackgroundService
{
    private readonly Channel<bool> _pokes = System.Threading.Channels.Channel.CreateBounded<bool>(
        new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite, SingleReader = true });

    public void Poke() => _pokes.Writer.TryWrite(true);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (await _pokes.Reader.WaitToReadAsync(stoppingToken))
        {
            _pokes.Reader.TryRead(out _);
            try
            {
                await using var cmd = dataSource.CreateCommand($"select pg_notify('{OutboxWakeupChannel.Name}', '')");
                await cmd.ExecuteNonQueryAsync(stoppingToken);
            }
            catch (NpgsqlException e)
            {
                // Workers poll as well, so a lost wake-up only delays work by one poll interval.
                LogNotifyFailed(logger, e);
            }
            if (options.Value.WakeupInterval > TimeSpan.Zero)
            {
                await Task.Delay(options.Value.WakeupInterval, time, stoppingToken);
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not send the outbox wake-up notification")]
    private static partial void LogNotifyFailed(ILogger logger, Exception e);
}
