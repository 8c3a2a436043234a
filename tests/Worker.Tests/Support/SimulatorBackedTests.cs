namespace OutboxSync.Worker.Tests.Support;

/// <summary>
/// A test class against the real simulator process: a <see cref="DatabaseBackedTests"/> plus a fresh simulator.
/// Each test class starts its own workers.
/// </summary>
public abstract class SimulatorBackedTests : DatabaseBackedTests
{
    protected SimulatorProcess Simulator { get; private set; } = null!;

    protected override async Task SetUpAsync() => Simulator = await SimulatorProcess.StartAsync();

    protected override async Task TearDownAsync() => await Simulator.DisposeAsync();
}
