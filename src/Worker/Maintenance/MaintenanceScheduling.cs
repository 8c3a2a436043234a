using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using OutboxSync.Persistence;
using Quartz;

namespace OutboxSync.Worker.Maintenance;

/// <summary>
/// Quartz.NET with its ADO job store on the same PostgreSQL, clustered: every replica runs a scheduler, and each
/// trigger fires on exactly one of them; a replica that dies mid-job has the job recovered by another. Misfires
/// (e.g. all replicas down at fire time) run once at the next opportunity, never in a burst of catch-up runs.
/// </summary>
public static class MaintenanceScheduling
{
    public static IHostApplicationBuilder AddMaintenanceJobs(this IHostApplicationBuilder builder)
    {
        builder.Services.AddOptions<MaintenanceOptions>().Bind(builder.Configuration.GetSection(MaintenanceOptions.Section))
            .ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddSingleton<OutboxRetention>();
        builder.Services.AddSingleton<ExpiredLeaseSweep>();
        builder.Services.AddSingleton<StuckWorkReport>();
        builder.Services.AddSingleton<ScheduledReconciliation>();
        builder.Services.AddSingleton<MaintenanceMetrics>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<MaintenanceMetrics>());

        var options = builder.Configuration.GetSection(MaintenanceOptions.Section).Get<MaintenanceOptions>() ?? new MaintenanceOptions();
        if (!options.Enabled)
        {
            return builder;
        }
        var connectionString = SessionNames.ForScheduler(builder.Configuration[$"{DatabaseOptions.Section}:ConnectionString"] ?? "", builder.Environment.ApplicationName);
        builder.AddQuartz(q =>
        {
            UseClusteredStore(q, connectionString, options.ClusterCheckinInterval);
            Schedule<RetentionJob>(q, "retention", options.RetentionInterval);
            Schedule<LeaseSweepJob>(q, "lease-sweep", options.LeaseSweepInterval);
            Schedule<StuckWorkJob>(q, "stuck-work", options.StuckCheckInterval);
            Schedule<ScheduledReconciliationJob>(q, "reconciliation", options.ReconciliationInterval);
        });
        // Not Quartz's hosted service: it would fail or hold back the worker's start while the database is down.
        builder.Services.AddSingleton<SchedulerStartup>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<SchedulerStartup>());
        return builder;
    }

    /// <summary>
    /// The clustered ADO job store and the rules for declaring triggers that every replica also declares.
    /// Quartz's default overwrites a stored trigger with the declared one, and a declared trigger starts now, so
    /// every replica start would fire every job again; relative rescheduling keeps the stored trigger's previous
    /// fire time instead, so a restart or a second replica fires nothing extra while a changed interval still
    /// takes effect from the last fire.
    /// </summary>
    public static void UseClusteredStore(IQuartzBuilder q, string connectionString, TimeSpan checkinInterval)
    {
        q.ConfigureOptions<QuartzOptions>(o =>
        {
            o.Scheduling.OverwriteExistingData = true;
            o.Scheduling.ScheduleTriggerRelativeToReplacedTrigger = true;
        });
        // Clustered: Quartz generates a unique instance id per replica.
        q.UsePersistentStore(store =>
        {
            // The factory overload: no driver lookup by type name at start-up. The schema comes from migrations/.
            store.UsePostgres(Npgsql.NpgsqlFactory.Instance, connectionString);
            store.UseClustering(c => c.CheckinInterval = checkinInterval);
        });
    }

    private static void Schedule<TJob>(IQuartzBuilder q, string name, TimeSpan interval) where TJob : class, IJob =>
        q.ScheduleJob<TJob>(
            trigger => trigger
                .WithIdentity(name, "maintenance")
                .StartNow()
                // A missed fire (every replica down) runs once when a replica is back, not once per missed interval.
                .WithSimpleSchedule(s => s.WithInterval(interval).RepeatForever()
                    .WithMisfireInstruction(SimpleTriggerMisfireInstruction.NextWithRemainingCount)),
            job => job.WithIdentity(name, "maintenance").DisallowConcurrentExecution());
}
