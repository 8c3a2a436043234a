using Npgsql;
using OutboxSync.Persistence;
using Xunit;

namespace OutboxSync.Shared.Tests.Persistence;

public sealed class SessionNamesTests
{
    private static string NameIn(string connectionString) => new NpgsqlConnectionStringBuilder(connectionString).ApplicationName!;

    [Fact]
    public void Sessions_are_named_after_the_component_when_the_connection_string_names_none() =>
        Assert.Equal("OutboxSync.Worker", NameIn(SessionNames.Apply("Host=db;Database=x", "OutboxSync.Worker")));

    [Fact]
    public void A_name_set_in_the_connection_string_is_kept() =>
        Assert.Equal("edge-worker-3", NameIn(SessionNames.Apply("Host=db;Application Name=edge-worker-3", "OutboxSync.Worker")));

    [Fact]
    public void The_scheduler_sessions_carry_the_component_name_and_quartz()
    {
        Assert.Equal("OutboxSync.Worker quartz", NameIn(SessionNames.ForScheduler("Host=db", "OutboxSync.Worker")));
        Assert.Equal("edge-worker-3 quartz", NameIn(SessionNames.ForScheduler("Host=db;Application Name=edge-worker-3", "OutboxSync.Worker")));
    }
}
