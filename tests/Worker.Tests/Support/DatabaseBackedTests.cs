using Npgsql;

namespace OutboxSync.Worker.Tests.Support;

/// <summary>
/// A test class with its own migrated database, a data source and a <see cref="Support.Scenario"/> on it.
/// Subclasses add their own parts in <see cref="SetUpAsync"/> and stop them in <see cref="TearDownAsync"/>, which
/// runs before the database goes away.
/// </summary>
public abstract class DatabaseBackedTests : IAsyncLifetime
{
    protected TestDatabase Database { get; private set; } = null!;
    protected NpgsqlDataSource DataSource { get; private set; } = null!;
    protected Scenario Scenario { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Database = await TestDatabase.CreateAsync();
        DataSource = Database.CreateDataSource();
        Scenario = new Scenario(DataSource);
        await SetUpAsync();
    }

    public async Task DisposeAsync()
    {
        await TearDownAsync();
        await DataSource.DisposeAsync();
        await Database.DisposeAsync();
    }

    protected virtual Task SetUpAsync() => Task.CompletedTask;

    protected virtual Task TearDownAsync() => Task.CompletedTask;
}
