using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Npgsql;
using OutboxSync.Migrations;
using OutboxSync.Persistence;
using OutboxSync.Worker.Maintenance;

namespace OutboxSync.Worker.Tests.Maintenance;

/// <summary>The maintenance scheduler of a worker whose database is not there yet when it starts.</summary>
public sealed class SchedulerStartupTests
{
    [Fact]
    public async Task A_worker_starting_without_its_database_starts_and_its_scheduler_joins_once_the_database_is_there()
    {
        var server = await PostgresServer.InstanceAsync();
        var name = "t_" + Guid.NewGuid().ToString("N")[..16];
        var connectionString = server.ConnectionStringFor(name);
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Database:ConnectionString"] = connectionString,
            ["Worker:Maintenance:ClusterCheckinInterval"] = "00:00:01",
        });
        builder.Logging.SetMinimumLevel(LogLevel.Critical);
        builder.AddOutboxSyncDatabase();
        builder.AddMaintenanceJobs();
        using var host = builder.Build();
        var startup = host.Services.GetRequiredService<SchedulerStartup>();
        try
        {
            // The database does not exist: the host still starts (Quartz's own hosted service would throw here).
            await host.StartAsync();
            Assert.Null(startup.Scheduler);

            await using (var admin = new NpgsqlConnection(server.AdminConnectionString))
            {
                await admin.OpenAsync();
                await using var create = new NpgsqlCommand($"create database {name}", admin);
                await create.ExecuteNonQueryAsync();
            }
            await SchemaMigrator.ApplyAsync(new NpgsqlConnectionStringBuilder(connectionString) { Pooling = false }.ConnectionString);

            await Eventually.WaitAsync(() => Task.FromResult(startup.Scheduler), s => s is not null,
                TimeSpan.FromSeconds(90), "the maintenance scheduler to start");
            await using var triggers = new NpgsqlConnection(connectionString);
            await triggers.OpenAsync();
            await using var count = new NpgsqlCommand("select count(*) from qrtz_triggers where trigger_group = 'maintenance'", triggers);
            Assert.Equal(4L, await count.ExecuteScalarAsync());
        }
        finally
        {
            await host.StopAsync();
            NpgsqlConnection.ClearAllPools();
            await using var admin = new NpgsqlConnection(server.AdminConnectionString);
            await admin.OpenAsync();
            await using var drop = new NpgsqlCommand($"drop database if exists {name} with (force)", admin);
            await drop.ExecuteNonQueryAsync();
        }
    }
}
