using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using Npgsql;
using OutboxSync.Leases;
using OutboxSync.Worker.Backend;
using OutboxSync.Worker.Maintenance;
using OutboxSync.Worker.Resilience;
using Polly;

namespace OutboxSync.Worker.Tests.Resilience;

/// <summary>The worker's named pipelines follow their options and wait on the injected clock.</summary>
public sealed class WorkerPipelinesTests
{
    private static Polly.Registry.ResiliencePipelineRegistry<string> Registry(LeaseOptions? leases = null, ReconciliationOptions? reconciliation = null, TimeProvider? time = null) =>
        WorkerPipelines.Create(new BackendOptions { BaseUrl = "http://backend.test/" }, leases ?? new LeaseOptions(), reconciliation ?? new ReconciliationOptions(),
            new BackendCircuit(), time ?? TimeProvider.System, NullLoggerFactory.Instance);

    [Theory]
    [InlineData(0)]
    [InlineData(2)]
    [InlineData(4)]
    public async Task A_lease_release_failing_on_the_database_is_tried_again_as_often_as_configured(int retries)
    {
        var pipeline = Registry(new LeaseOptions { ReleaseRetries = retries, ReleaseRetryDelay = TimeSpan.Zero }).GetPipeline(WorkerPipelines.LeaseRelease);
        var context = ResilienceContextPool.Shared.Get(CancellationToken.None);
        context.Properties.Set(WorkerPipelines.ReleasingLease,
            new ResourceLease(Guid.NewGuid(), "me", new FencingToken(1), TimeProvider.System, TimeProvider.System.GetTimestamp(), TimeSpan.FromSeconds(10)));
        var attempts = 0;

        await Assert.ThrowsAsync<NpgsqlException>(async () => await pipeline.ExecuteAsync(_ =>
        {
            attempts++;
            throw new NpgsqlException("terminating connection due to administrator command");
        }, context));

        Assert.Equal(retries + 1, attempts);
        ResilienceContextPool.Shared.Return(context);
    }

    [Fact]
    public async Task A_failed_reconciliation_page_read_is_retried_after_a_doubling_delay_on_the_injected_clock()
    {
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var pipeline = Registry(reconciliation: new ReconciliationOptions { PageReadRetries = 3, PageReadRetryDelay = TimeSpan.FromMilliseconds(200) }, time: clock)
            .GetPipeline(WorkerPipelines.ReconciliationReads);
        var attempts = 0;
        using var attempted = new SemaphoreSlim(0);

        var read = pipeline.ExecuteAsync(_ =>
        {
            attempts++;
            attempted.Release();
            return attempts < 3 ? throw new HttpRequestException("connection reset") : ValueTask.FromResult("page");
        }, CancellationToken.None).AsTask();

        Assert.True(await attempted.WaitAsync(TimeSpan.FromSeconds(10)));
        await AdvanceAndExpectAsync(clock, attempted, TimeSpan.FromMilliseconds(200));
        await AdvanceAndExpectAsync(clock, attempted, TimeSpan.FromMilliseconds(400));
        Assert.Equal("page", await read.WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.Equal(3, attempts);
    }

    /// <summary>Nothing is tried until the whole <paramref name="delay"/> has passed on <paramref name="clock"/>, then one attempt.</summary>
    private static async Task AdvanceAndExpectAsync(FakeTimeProvider clock, SemaphoreSlim attempted, TimeSpan delay)
    {
        clock.Advance(delay - TimeSpan.FromMilliseconds(1));
        Assert.False(await attempted.WaitAsync(TimeSpan.FromMilliseconds(200)));
        clock.Advance(TimeSpan.FromMilliseconds(1));
        Assert.True(await attempted.WaitAsync(TimeSpan.FromSeconds(10)));
    }
}
