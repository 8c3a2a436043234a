using Npgsql;
using OutboxSync.Persistence;
using Xunit;

namespace OutboxSync.Shared.Tests.Persistence;

public sealed class ConnectionDefaultsTests
{
    private static NpgsqlConnectionStringBuilder Parse(string connectionString) => new(connectionString);

    [Fact]
    public void Pooled_sessions_are_not_reset_on_return_unless_the_connection_string_says_so()
    {
        Assert.True(Parse(ConnectionDefaults.Apply("Host=db;Database=x", "OutboxSync.Api")).NoResetOnClose);
        Assert.False(Parse(ConnectionDefaults.Apply("Host=db;No Reset On Close=false", "OutboxSync.Api")).NoResetOnClose);
        Assert.False(Parse(ConnectionDefaults.Apply("Host=db;NoResetOnClose=false", "OutboxSync.Api")).NoResetOnClose);
    }

    [Fact]
    public void The_most_used_statements_are_prepared_unless_the_connection_string_says_otherwise()
    {
        Assert.Equal(ConnectionDefaults.AutoPreparedStatements, Parse(ConnectionDefaults.Apply("Host=db", "OutboxSync.Worker")).MaxAutoPrepare);
        Assert.Equal(0, Parse(ConnectionDefaults.Apply("Host=bouncer;Max Auto Prepare=0", "OutboxSync.Worker")).MaxAutoPrepare);
    }

    [Fact]
    public void Sessions_are_still_named_after_the_component() =>
        Assert.Equal("OutboxSync.Api", Parse(ConnectionDefaults.Apply("Host=db", "OutboxSync.Api")).ApplicationName);

    [Fact]
    public void The_pool_is_bounded_as_the_service_chose_unless_the_connection_string_says_otherwise()
    {
        Assert.Equal(8, Parse(ConnectionDefaults.Apply("Host=db", "OutboxSync.Worker", maxPoolSize: 8)).MaxPoolSize);
        Assert.Equal(30, Parse(ConnectionDefaults.Apply("Host=db;Maximum Pool Size=30", "OutboxSync.Worker", maxPoolSize: 8)).MaxPoolSize);
        Assert.Equal(new NpgsqlConnectionStringBuilder().MaxPoolSize, Parse(ConnectionDefaults.Apply("Host=db", "OutboxSync.Api")).MaxPoolSize);
    }
}
