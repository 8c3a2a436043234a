using Microsoft.EntityFrameworkCore;
using OutboxSync.Persistence;

namespace OutboxSync.Api.Accept;

/// <summary>Builds the EF model and opens the first connection at start, so the first client request is not
/// the one that pays for it (over a second on a cold start).</summary>
public sealed partial class ModelWarmup(IServiceScopeFactory scopes, ILogger<ModelWarmup> logger) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        try
        {
            await using var scope = scopes.CreateAsyncScope();
            var db = scope.ServiceProvider.GetRequiredService<OutboxSyncDbContext>();
            await db.Networks.AsNoTracking().AnyAsync(n => n.Id == Guid.Empty, cancellationToken);
        }
        catch (Exception e) when (e is Npgsql.NpgsqlException or InvalidOperationException)
        {
            // Not fatal: readiness reports the database; requests retry their own connections.
            LogWarmupFailed(logger, e);
        }
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    [LoggerMessage(Level = LogLevel.Warning, Message = "Warm-up query failed; the database may be unavailable")]
    private static partial void LogWarmupFailed(ILogger logger, Exception e);
}
