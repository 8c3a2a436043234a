using System.Data.Common;
using Npgsql;

namespace OutboxSync.Persistence;

/// <summary>What every data source of the API and the worker adds to the configured connection string, unless
/// the string says otherwise: the session's name (<see cref="SessionNames"/>) and no reset on return to the pool.</summary>
public static class ConnectionDefaults
{
    public static string Apply(string connectionString, string component)
    {
        var builder = new NpgsqlConnectionStringBuilder(SessionNames.Apply(connectionString, component));
        // Sessions carry no state of ours (the design works through PgBouncer transaction pooling), so the
        // DISCARD ALL Npgsql sends on every return to the pool is pure cost: it was the most frequent statement in
        // pg_stat_statements under load, once per query of a drain and twice per single-resource GET.
        if (!Mentions(connectionString, "No Reset On Close", "NoResetOnClose"))
        {
            builder.NoResetOnClose = true;
        }
        return builder.ConnectionString;
    }

    // NpgsqlConnectionStringBuilder.ContainsKey answers whether a keyword is supported, not whether it is set.
    private static bool Mentions(string connectionString, params string[] keywords)
    {
        var given = new DbConnectionStringBuilder { ConnectionString = connectionString };
        return keywords.Any(given.ContainsKey);
    }
}
