using Microsoft.Extensions.Diagnostics.HealthChecks;
using Npgsql;
using OutboxSync.Migrations;

namespace OutboxSync.Hosting;

/// <summary>Ready only when the database answers and its schema is at the version this build expects.</summary>
public sealed class SchemaHealthCheck(NpgsqlDataSource dataSource) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(TimeSpan.FromSeconds(3));
            var version = await SchemaMigrator.CurrentVersionAsync(dataSource, timeout.Token);
            return version == SchemaMigrator.LatestVersion
                ? HealthCheckResult.Healthy($"schema at {version}")
                : HealthCheckResult.Unhealthy($"schema at {version ?? "(none)"}, expected {SchemaMigrator.LatestVersion}; run the migrator");
        }
        catch (Exception e) when (e is NpgsqlException or OperationCanceledException or TimeoutException)
        {
            return HealthCheckResult.Unhealthy("database unreachable", e);
        }
    }
}
