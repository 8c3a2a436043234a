using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Npgsql;

namespace OutboxSync.Persistence;

public static class DatabaseServiceExtensions
{
    /// <summary>Registers <see cref="DatabaseOptions"/>, one shared <see cref="NpgsqlDataSource"/> and the DbContext.</summary>
    public static IHostApplicationBuilder AddOutboxSyncDatabase(this IHostApplicationBuilder builder)
    {
        builder.Services.AddOptions<DatabaseOptions>()
            .Bind(builder.Configuration.GetSection(DatabaseOptions.Section))
            .ValidateDataAnnotations()
            .ValidateOnStart();

        builder.Services.AddSingleton(sp =>
        {
            var options = sp.GetRequiredService<IOptions<DatabaseOptions>>().Value;
            return new NpgsqlDataSourceBuilder(ConnectionDefaults.Apply(options.ConnectionString, builder.Environment.ApplicationName, options.MaxPoolSize)).Build();
        });
        // Pooled: a fresh context per request built its internal service scope each time (12 % of the API's
        // CPU on a single-resource GET, BENCHMARKS.md "Cost per operation").
        builder.Services.AddDbContextPool<OutboxSyncDbContext>((sp, o) =>
            o.UseNpgsql(sp.GetRequiredService<NpgsqlDataSource>()));
        builder.Services.TryAddTimeProvider();
        return builder;
    }

    private static void TryAddTimeProvider(this IServiceCollection services)
    {
        if (!services.Any(d => d.ServiceType == typeof(TimeProvider)))
        {
            services.AddSingleton(TimeProvider.System);
        }
    }
}
