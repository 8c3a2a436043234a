using Npgsql;

namespace OutboxSync.Worker.Tests.Support;

/// <summary>
/// A test class against the real simulator process: its own migrated database, a data source and a
/// <see cref="Support.Scenario"/> on it, and a fresh simulator. Each test class starts its own workers.
/// </summary>
public abstract class SimulatorBackedTests : IAsyncLifetime
{
    protected TestDatabase Database { get; private set; } = null!;
    protected NpgsqlDataSource DataSource { get; private set; } = null!;
    protected Scenario Scenario { get; private set; } = null!;
    protected SimulatorProcess Simulator { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Database = await TestDatabase.CreateAsync();
        DataSource = Database.CreateDataSource();
        Scenario = new Scenario(DataSource);
        Simulator = await SimulatorProcess.StartAsync();
    }

    public async Task DisposeAsync()
    {
        await Simulator.DisposeAsync();
        await DataSource.DisposeAsync();
        await Database.DisposeAsync();
    }
}
