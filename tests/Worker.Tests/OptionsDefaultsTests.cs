using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Npgsql;
using OutboxSync.Leases;
using OutboxSync.Persistence;
using OutboxSync.Worker.Backend;
using OutboxSync.Worker.Drain;
using OutboxSync.Worker.Retry;
using OutboxSync.Worker.Tests.Support;

namespace OutboxSync.Worker.Tests;

public sealed class OptionsDefaultsTests
{
    [Fact]
    public void Unconfigured_options_take_their_documented_defaults()
    {
        var drain = new DrainOptions();
        Assert.Equal((32, 8, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(20)), (drain.MaxInFlight, drain.ClaimAhead, drain.PollInterval, drain.ShutdownTimeout));
        Assert.Equal(TimeSpan.FromSeconds(2), drain.StatisticsCheckInterval);
        var leases = new LeaseOptions();
        Assert.Equal((TimeSpan.FromSeconds(15), TimeSpan.FromSeconds(5)), (leases.Duration, leases.EffectiveRenewEvery));
        Assert.Equal((2, TimeSpan.FromMilliseconds(50)), (leases.ReleaseRetries, leases.ReleaseRetryDelay));
        var reconciliation = new OutboxSync.Worker.Maintenance.ReconciliationOptions();
        Assert.Equal((5, TimeSpan.FromMilliseconds(200)), (reconciliation.PageReadRetries, reconciliation.PageReadRetryDelay));
        var retry = new RetryOptions();
        Assert.Equal((8, TimeSpan.FromSeconds(1), TimeSpan.FromMinutes(5)), (retry.MaxAttempts, retry.BaseDelay, retry.MaxDelay));
        Assert.Equal(TimeSpan.FromSeconds(10), new BackendOptions().AttemptTimeout);
    }

    [Fact]
    public async Task Each_replica_gets_a_distinct_instance_id_unless_one_is_configured()
    {
        var db = await TestDatabase.CreateAsync();
        await using (db)
        {
            using var a = WorkerHost.Build(db).Host;
            using var b = WorkerHost.Build(db).Host;
            using var named = WorkerHost.Build(db, settings: new Dictionary<string, string?> { ["Worker:InstanceId"] = "worker-7" }).Host;

            var idA = a.Services.GetRequiredService<IOptions<DrainOptions>>().Value.InstanceId;
            var idB = b.Services.GetRequiredService<IOptions<DrainOptions>>().Value.InstanceId;
            Assert.NotEqual(idA, idB);
            Assert.Contains(Environment.ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture), idA);
            Assert.Equal("worker-7", named.Services.GetRequiredService<IOptions<DrainOptions>>().Value.InstanceId);
        }
    }

    [Fact]
    public async Task An_invalid_setting_stops_the_worker_at_start_naming_it()
    {
        var db = await TestDatabase.CreateAsync();
        await using (db)
        {
            using var host = WorkerHost.Build(db, settings: new Dictionary<string, string?> { ["Leases:Duration"] = "00:00:02", ["Leases:SafetyMargin"] = "00:00:05" }).Host;
            var error = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync());
            Assert.Contains("Leases:SafetyMargin must be shorter than Leases:Duration", error.Message);
        }
    }

    [Fact]
    public async Task A_replica_keeps_a_small_connection_pool_unless_configured_otherwise()
    {
        var db = await TestDatabase.CreateAsync();
        await using (db)
        {
            // The test cluster's own string sets a pool size; a deployment's usually does not.
            var plain = new NpgsqlConnectionStringBuilder(db.ConnectionString);
            plain.Remove("Maximum Pool Size");
            int PoolOf(IDictionary<string, string?> settings)
            {
                settings.TryAdd("Database:ConnectionString", plain.ConnectionString);
                using var host = WorkerHost.Build(db, settings: settings).Host;
                return new NpgsqlConnectionStringBuilder(host.Services.GetRequiredService<NpgsqlDataSource>().ConnectionString).MaxPoolSize;
            }

            Assert.Equal(DatabaseOptions.WorkerMaxPoolSize, PoolOf(new Dictionary<string, string?>()));
            Assert.Equal(8, DatabaseOptions.WorkerMaxPoolSize);
            Assert.Equal(20, PoolOf(new Dictionary<string, string?> { ["Database:MaxPoolSize"] = "20" }));
            Assert.Equal(30, PoolOf(new Dictionary<string, string?> { ["Database:ConnectionString"] = plain.ConnectionString + ";Maximum Pool Size=30" }));
        }
    }
}
