using Npgsql;

namespace OutboxSync.Persistence;

/// <summary>
/// Names every database session after the component that opened it (PostgreSQL's application_name), so
/// pg_stat_activity and the server log say whether a session belongs to the API, a worker's drain or a worker's
/// Quartz scheduler. A name set in the connection string is kept.
/// </summary>
public static class SessionNames
{
    /// <summary>The component's sessions are named <paramref name="component"/> unless the connection string names them.</summary>
    public static string Apply(string connectionString, string component)
    {
        var builder = new NpgsqlConnectionStringBuilder(connectionString);
        if (string.IsNullOrEmpty(builder.ApplicationName))
        {
            builder.ApplicationName = component;
        }
        return builder.ConnectionString;
    }

    /// <summary>The Quartz scheduler's sessions: the component's name (or the configured one) with " quartz" appended.</summary>
    public static string ForScheduler(string connectionString, string component)
    {
        var builder = new NpgsqlConnectionStringBuilder(Apply(connectionString, component));
        builder.ApplicationName += " quartz";
        return builder.ConnectionString;
    }
}
