using System.Data.Common;
using Npgsql;

namespace OutboxSync.Persistence;

/// <summary>What every data source of the API and the worker adds to the configured connection string, unless
/// the string says otherwise: the session's name (<see cref="SessionNames"/>), no reset on return to the pool,
/// automatic preparation of the statements used most, and the pool's bound when the service chose one.</summary>
public static class ConnectionDefaults
{
    /// <param name="maxPoolSize">Npgsql's Max Pool Size unless the string sets it (<see cref="DatabaseOptions.MaxPoolSize"/>).</param>
    public static string Apply(string connectionString, string component, int? maxPoolSize = null)
    {
        var builder = new NpgsqlConnectionStringBuilder(SessionNames.Apply(connectionString, component));
        // Sessions carry no state of ours (the design works through PgBouncer transaction pooling), so the
        // DISCARD ALL Npgsql sends on every return to the pool is pure cost: it was the most frequent statement in
        // pg_stat_statements under load, once per query of a drain and twice per single-resource GET.
        if (!Mentions(connectionString, "No Reset On Close", "NoResetOnClose"))
        {
            builder.NoResetOnClose = true;
        }
        // Planning took more of PostgreSQL's time than executing in the drain (pg_stat_statements with
        // track_planning): every statement is short and runs once per entry or per call. Npgsql prepares a statement
        // on a connection after it ran there AutoPrepareMinUsages (5) times. PgBouncer before 1.21 (transaction
        // pooling) cannot carry prepared statements: such a connection string must say Max Auto Prepare=0.
        if (!Mentions(connectionString, "Max Auto Prepare", "MaxAutoPrepare"))
        {
            builder.MaxAutoPrepare = AutoPreparedStatements;
        }
        if (maxPoolSize is { } pool && !Mentions(connectionString, "Maximum Pool Size", "MaxPoolSize"))
        {
            builder.MaxPoolSize = pool;
        }
        return builder.ConnectionString;
    }

    /// <summary>Statements kept prepared per connection by default: more than the API and the worker use.</summary>
    public const int AutoPreparedStatements = 64;

    // NpgsqlConnectionStringBuilder.ContainsKey answers whether a keyword is supported, not whether it is set.
    private static bool Mentions(string connectionString, params string[] keywords)
    {
        var given = new DbConnectionStringBuilder { ConnectionString = connectionString };
        return keywords.Any(given.ContainsKey);
    }
}
