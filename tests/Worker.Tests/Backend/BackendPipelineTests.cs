using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using OutboxSync.Leases;
using OutboxSync.Worker.Backend;
using OutboxSync.Worker.Maintenance;
using OutboxSync.Worker.Resilience;
using OutboxSync.Worker.Tests.Support;

namespace OutboxSync.Worker.Tests.Backend;

public sealed class BackendPipelineTests
{
    private static (BackendPipeline Pipeline, FakeBackend Backend) Build(BackendOptions? options = null, TimeProvider? time = null)
    {
        time ??= TimeProvider.System;
        var backend = new FakeBackend();
        var http = new HttpClient(backend) { BaseAddress = new Uri("http://backend.test/") };
        var o = options ?? new BackendOptions { BaseUrl = "http://backend.test/", RetryCount = 0, BreakMinimumThroughput = 4, BreakFailureRatio = 0.5 };
        var circuit = new BackendCircuit();
        var pipelines = WorkerPipelines.Create(o, new LeaseOptions(), new ReconciliationOptions(), circuit, time, NullLoggerFactory.Instance);
        return (new BackendPipeline(new BackendClient(http), pipelines, circuit, Options.Create(o), time), backend);
    }

    private static BackendRequest Create(Guid id) =>
        new(HttpMethod.Post, "v1/networks", $$$"""{"id":"{{{id}}}","revision":1,"attributes":{"name":"x"}}""", new FencingToken(1), $"seq-{id}", null);

    [Fact]
    public async Task Repeated_transient_failures_open_the_circuit_and_later_calls_are_not_sent()
    {
        var (pipeline, backend) = Build();
        backend.Fault = _ => (500, "boom");
        for (var i = 0; i < 4; i++)
        {
            Assert.Equal(BackendOutcomeKind.Transient, (await pipeline.SendAsync(Create(Guid.NewGuid()), CancellationToken.None)).Kind);
        }

        var outcome = await pipeline.SendAsync(Create(Guid.NewGuid()), CancellationToken.None);

        Assert.Equal(BackendOutcomeKind.CircuitOpen, outcome.Kind);
        Assert.Equal(4, backend.Calls.Count);
    }

    [Fact]
    public async Task The_circuit_state_reads_open_after_failures_then_half_open_and_closed_once_a_probe_succeeds()
    {
        var (pipeline, backend) = Build(new BackendOptions
        {
            BaseUrl = "http://backend.test/", RetryCount = 0, BreakMinimumThroughput = 2, BreakFailureRatio = 0.5,
            BreakDuration = TimeSpan.FromMilliseconds(500),
        });
        Assert.Equal(0, pipeline.CircuitState);
        backend.Fault = _ => (503, "outage");
        while (pipeline.CircuitState == 0 && backend.Calls.Count < 20)
        {
            await pipeline.SendAsync(Create(Guid.NewGuid()), CancellationToken.None);
        }
        Assert.Equal(1, pipeline.CircuitState);

        backend.Fault = null;
        backend.Latency = TimeSpan.FromMilliseconds(300);
        // After the break the next call is the probe: half-open while it runs, closed once it succeeds.
        var probe = await Eventually.WaitAsync(async () =>
        {
            var call = pipeline.SendAsync(Create(Guid.NewGuid()), CancellationToken.None);
            var seenHalfOpen = await Eventually.WaitAsync(() => Task.FromResult(pipeline.CircuitState), s => s != 1 || call.IsCompleted,
                TimeSpan.FromSeconds(10), "probe started") == 2;
            return (Outcome: (await call).Kind, SeenHalfOpen: seenHalfOpen);
        }, r => r.Outcome == BackendOutcomeKind.Applied, TimeSpan.FromSeconds(30), "a successful probe");
        Assert.True(probe.SeenHalfOpen, "the state never read half-open during the probe");
        Assert.Equal(0, pipeline.CircuitState);
    }

    [Fact]
    public async Task Rejections_do_not_open_the_circuit()
    {
        var (pipeline, backend) = Build();
        backend.Fault = _ => (422, "rejected");
        for (var i = 0; i < 10; i++)
        {
            Assert.Equal(BackendOutcomeKind.Rejected, (await pipeline.SendAsync(Create(Guid.NewGuid()), CancellationToken.None)).Kind);
        }
        Assert.Equal(10, backend.Calls.Count);
    }

    [Fact]
    public async Task A_slow_attempt_times_out_in_doubt_and_is_not_sent_again_while_it_may_still_run()
    {
        var (pipeline, backend) = Build(new BackendOptions
        {
            BaseUrl = "http://backend.test/", AttemptTimeout = TimeSpan.FromMilliseconds(200), RetryCount = 2, RetryDelay = TimeSpan.FromMilliseconds(10),
        });
        var seen = new List<string>();
        backend.OnRequest = c => { lock (seen) { seen.Add(c.Key); } };
        backend.Latency = TimeSpan.FromSeconds(5);

        var outcome = await pipeline.SendAsync(Create(Guid.NewGuid()), CancellationToken.None);

        Assert.Equal((BackendOutcomeKind.Transient, true), (outcome.Kind, outcome.InDoubt));
        Assert.Single(seen);
    }

    [Fact]
    public async Task A_transient_answer_is_retried_in_call_under_the_same_idempotency_key()
    {
        var (pipeline, backend) = Build(new BackendOptions
        {
            BaseUrl = "http://backend.test/", RetryCount = 2, RetryDelay = TimeSpan.FromMilliseconds(10),
        });
        var seen = new List<string>();
        backend.OnRequest = c => { lock (seen) { seen.Add(c.Key); } };
        backend.Fault = _ => (500, "boom");

        var outcome = await pipeline.SendAsync(Create(Guid.NewGuid()), CancellationToken.None);

        Assert.Equal((BackendOutcomeKind.Transient, false), (outcome.Kind, outcome.InDoubt));
        Assert.Equal(3, seen.Count);
        Assert.Single(seen.Distinct());
    }

    [Theory]
    [InlineData(4, 10, 4)]   // the lease's trust window ends first
    [InlineData(30, 10, 10)] // the attempt timeout ends first
    public async Task Each_attempt_tells_the_back_end_when_its_caller_stops_waiting(int trustSeconds, int attemptTimeoutSeconds, int expectedSeconds)
    {
        var clock = new FakeTimeProvider(new DateTimeOffset(2026, 1, 31, 12, 0, 0, TimeSpan.Zero));
        var (pipeline, backend) = Build(new BackendOptions { BaseUrl = "http://backend.test/", RetryCount = 0, AttemptTimeout = TimeSpan.FromSeconds(attemptTimeoutSeconds) }, clock);
        var lease = new ResourceLease(Guid.NewGuid(), "me", new FencingToken(1), clock, clock.GetTimestamp(), TimeSpan.FromSeconds(trustSeconds));

        Assert.Equal(BackendOutcomeKind.Applied, (await pipeline.SendAsync(Create(lease.ResourceId), lease, CancellationToken.None)).Kind);

        Assert.Equal(BackendClient.FormatDeadline(clock.GetUtcNow().AddSeconds(expectedSeconds)), backend.Calls.Single().Deadline);
    }

    [Fact]
    public async Task A_call_without_a_lease_carries_the_attempt_timeout_as_its_deadline()
    {
        var clock = new FakeTimeProvider(new DateTimeOffset(2026, 1, 31, 12, 0, 0, TimeSpan.Zero));
        var (pipeline, backend) = Build(new BackendOptions { BaseUrl = "http://backend.test/", RetryCount = 0, AttemptTimeout = TimeSpan.FromSeconds(7) }, clock);

        await pipeline.SendAsync(Create(Guid.NewGuid()), CancellationToken.None);

        Assert.Equal("2026-01-31T12:00:07.000Z", backend.Calls.Single().Deadline);
    }

    [Fact]
    public void Deadlines_go_out_in_UTC_with_milliseconds_rounded_down()
    {
        var deadline = new DateTimeOffset(2026, 1, 31, 13, 0, 3, TimeSpan.FromHours(1)).AddTicks(2_509_999);

        Assert.Equal("2026-01-31T12:00:03.250Z", BackendClient.FormatDeadline(deadline));
    }
}
