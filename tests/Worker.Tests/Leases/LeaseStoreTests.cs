using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using OutboxSync.Leases;
using OutboxSync.Outbox;
using OutboxSync.Worker.Tests.Support;

namespace OutboxSync.Worker.Tests.Leases;

public sealed class LeaseStoreTests : DatabaseBackedTests
{
    private LeaseStore Store(TimeSpan duration, TimeProvider? time = null, TimeSpan? margin = null) =>
        new(DataSource, Options.Create(new LeaseOptions { Duration = duration, SafetyMargin = margin ?? TimeSpan.Zero }), time ?? TimeProvider.System);

    [Fact]
    public async Task Concurrent_acquirers_of_one_resource_leave_exactly_one_holder()
    {
        var store = Store(TimeSpan.FromSeconds(30));
        var id = Guid.NewGuid();
        using var start = new ManualResetEventSlim();
        var attempts = Enumerable.Range(0, 32).Select(i => Task.Run(async () =>
        {
            start.Wait();
            return await store.AcquireAsync(id, $"replica-{i}");
        })).ToList();
        start.Set();
        var results = await Task.WhenAll(attempts);

        var winners = results.Where(l => l is not null).ToList();
        Assert.Single(winners);
        await using var cmd = DataSource.CreateCommand("select holder, token from resource_leases where resource_id = @id");
        cmd.Parameters.AddWithValue("id", id);
        await using var r = await cmd.ExecuteReaderAsync();
        Assert.True(await r.ReadAsync());
        Assert.Equal(winners[0]!.Holder, r.GetString(0));
        Assert.Equal(winners[0]!.Token.Value, r.GetInt64(1));
    }

    [Fact]
    public async Task A_live_lease_cannot_be_taken_and_an_expired_one_is_taken_over_with_a_larger_token()
    {
        var store = Store(TimeSpan.FromMilliseconds(300));
        var id = Guid.NewGuid();
        var first = await store.AcquireAsync(id, "a");
        Assert.NotNull(first);
        Assert.Null(await store.AcquireAsync(id, "b"));

        var second = await Eventually.WaitAsync(() => store.AcquireAsync(id, "b"), l => l is not null, TimeSpan.FromSeconds(10), "takeover after expiry");

        Assert.Equal("b", second!.Holder);
        Assert.True(second.Token > first!.Token);
    }

    [Fact]
    public async Task Acquire_names_the_previous_holder_only_when_it_takes_over_an_expired_unreleased_lease()
    {
        var store = Store(TimeSpan.FromMilliseconds(300));
        var id = Guid.NewGuid();
        var fresh = await store.AcquireAsync(id, "a");
        Assert.Null(fresh!.PreviousHolder);
        Assert.False(fresh.IsTakeover);

        var taken = await Eventually.WaitAsync(() => store.AcquireAsync(id, "b"), l => l is not null, TimeSpan.FromSeconds(10), "takeover after expiry");
        Assert.Equal("a", taken!.PreviousHolder);
        Assert.True(taken.IsTakeover);

        // Its own expired lease re-acquired is not a takeover; a released one leaves no row to take over.
        var again = await Eventually.WaitAsync(() => store.AcquireAsync(id, "b"), l => l is not null, TimeSpan.FromSeconds(10), "re-acquire after own expiry");
        Assert.Equal("b", again!.PreviousHolder);
        Assert.False(again.IsTakeover);
        Assert.Equal(LeaseRelease.Released, await store.ReleaseAsync(again));
        var afterRelease = await store.AcquireAsync(id, "c");
        Assert.Null(afterRelease!.PreviousHolder);
        Assert.False(afterRelease.IsTakeover);
    }

    [Fact]
    public async Task Renewal_keeps_a_lease_alive_past_its_duration()
    {
        var store = Store(TimeSpan.FromSeconds(1.5));
        var id = Guid.NewGuid();
        var lease = (await store.AcquireAsync(id, "a"))!;
        var acquiredAt = DateTime.UtcNow;

        // Renew on a 200 ms cadence for three durations while a rival keeps trying.
        using var cadence = new PeriodicTimer(TimeSpan.FromMilliseconds(200));
        while (DateTime.UtcNow - acquiredAt < TimeSpan.FromSeconds(4.5))
        {
            Assert.True(await store.RenewAsync(lease));
            Assert.Null(await store.AcquireAsync(id, "rival"));
            await cadence.WaitForNextTickAsync();
        }
        Assert.True(lease.IsTrusted);
        Assert.Equal(LeaseRelease.Released, await store.ReleaseAsync(lease));
        Assert.NotNull(await store.AcquireAsync(id, "rival"));
    }

    [Fact]
    public async Task An_expired_lease_cannot_be_renewed_even_before_anyone_takes_it()
    {
        var store = Store(TimeSpan.FromMilliseconds(200));
        var lease = (await store.AcquireAsync(Guid.NewGuid(), "a"))!;
        await Eventually.WaitAsync(() => DbSaysExpiredAsync(lease.ResourceId), e => e, TimeSpan.FromSeconds(5), "expiry");

        Assert.False(await store.RenewAsync(lease));
        Assert.True(lease.IsLost);
        Assert.False(lease.IsTrusted);
    }

    [Fact]
    public async Task A_stale_holders_completion_changes_nothing()
    {
        var net = await Scenario.CreateNetworkAsync("n1");
        var seq = (await Scenario.EntriesAsync(net))[0].Seq;
        var store = Store(TimeSpan.FromMilliseconds(200));
        var stale = (await store.AcquireAsync(net, "a"))!;
        var current = await Eventually.WaitAsync(() => store.AcquireAsync(net, "b"), l => l is not null, TimeSpan.FromSeconds(10), "takeover");

        var completion = new OutboxCompletion(DataSource);
        var result = await completion.ConfirmAsync(stale, new Confirmation("network", seq, [], 1, RemoveRow: false));

        Assert.Equal(CompletionResult.Lost, result);
        Assert.True(stale.IsLost);
        Assert.Equal("pending", (await Scenario.EntriesAsync(net))[0].State);
        Assert.Equal(("PENDING_CREATE", 0L), ((await Scenario.ResourceAsync("networks", net))!.Value.Status, (await Scenario.ResourceAsync("networks", net))!.Value.Applied));

        Assert.Equal(CompletionResult.Written, await completion.ConfirmAsync(current!, new Confirmation("network", seq, [], 1, RemoveRow: false)));
        Assert.Equal("ACTIVE", (await Scenario.ResourceAsync("networks", net))!.Value.Status);
    }

    [Fact]
    public async Task Releasing_a_lease_that_ran_out_says_so_and_still_frees_the_resource()
    {
        var store = Store(TimeSpan.FromMilliseconds(200));
        var lease = (await store.AcquireAsync(Guid.NewGuid(), "a"))!;
        await Eventually.WaitAsync(() => DbSaysExpiredAsync(lease.ResourceId), e => e, TimeSpan.FromSeconds(5), "expiry");

        Assert.Equal(LeaseRelease.RanOut, await store.ReleaseAsync(lease));
        Assert.Equal(LeaseRelease.NotHeld, await store.ReleaseAsync(lease));
        var next = await store.AcquireAsync(lease.ResourceId, "b");
        Assert.Null(next!.PreviousHolder);
    }

    [Fact]
    public async Task Releasing_a_lease_taken_over_finds_it_not_held_and_leaves_the_new_holder_alone()
    {
        var store = Store(TimeSpan.FromMilliseconds(200));
        var stale = (await store.AcquireAsync(Guid.NewGuid(), "a"))!;
        var current = await Eventually.WaitAsync(() => store.AcquireAsync(stale.ResourceId, "b"), l => l is not null, TimeSpan.FromSeconds(10), "takeover");

        Assert.Equal(LeaseRelease.NotHeld, await store.ReleaseAsync(stale));
        Assert.Equal(LeaseRelease.Released, await store.ReleaseAsync(current!));
    }

    [Fact]
    public async Task Release_by_a_non_holder_changes_nothing()
    {
        var store = Store(TimeSpan.FromSeconds(30));
        var id = Guid.NewGuid();
        var lease = (await store.AcquireAsync(id, "a"))!;

        Assert.Equal(LeaseRelease.NotHeld, await store.ReleaseAsync(id, new FencingToken(lease.Token.Value - 1)));
        Assert.Equal(LeaseRelease.NotHeld, await store.ReleaseAsync(id, new FencingToken(lease.Token.Value + 1)));
        Assert.Null(await store.AcquireAsync(id, "b"));
        Assert.True(await store.RenewAsync(lease));
    }

    [Fact]
    public async Task Expiry_follows_the_database_clock_even_when_the_replica_clock_is_skewed()
    {
        var id = Guid.NewGuid();
        // Replica A's clock is frozen (it never sees time pass); replica B's runs a day ahead.
        var frozen = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var ahead = new FakeTimeProvider(DateTimeOffset.UtcNow.AddDays(1));
        var a = Store(TimeSpan.FromMilliseconds(500), frozen);
        var b = Store(TimeSpan.FromMilliseconds(500), ahead);

        var held = (await a.AcquireAsync(id, "a"))!;
        ahead.Advance(TimeSpan.FromHours(5));
        // B's clock says hours have passed; the database says the lease is live: B cannot take it.
        Assert.Null(await b.AcquireAsync(id, "b"));
        // A's frozen clock keeps trusting its lease, yet the database expires it on time and B takes over.
        var taken = await Eventually.WaitAsync(() => b.AcquireAsync(id, "b"), l => l is not null, TimeSpan.FromSeconds(10), "takeover by database clock");
        Assert.True(held.IsTrusted);
        Assert.True(taken!.Token > held.Token);
        // ... and A's token-guarded writes are refused, so the frozen clock cannot cause a double write.
        Assert.False(await a.RenewAsync(held));
        Assert.False(held.IsTrusted);
    }

    [Fact]
    public async Task The_holder_stops_trusting_its_lease_before_the_database_could_expire_it()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var store = Store(TimeSpan.FromSeconds(10), time, margin: TimeSpan.FromSeconds(2));
        var lease = (await store.AcquireAsync(Guid.NewGuid(), "a"))!;

        time.Advance(TimeSpan.FromSeconds(7.9));
        Assert.True(lease.IsTrusted);
        time.Advance(TimeSpan.FromSeconds(0.2));
        Assert.False(lease.IsTrusted);

        Assert.True(await store.RenewAsync(lease));
        Assert.True(lease.IsTrusted);
        Assert.InRange(lease.TrustRemaining, TimeSpan.FromSeconds(7.9), TimeSpan.FromSeconds(8));
    }

    [Fact]
    public async Task Batched_acquire_skips_held_resources_and_gives_each_winner_a_distinct_token()
    {
        var store = Store(TimeSpan.FromSeconds(30));
        var ids = Enumerable.Range(0, 10).Select(_ => Guid.NewGuid()).ToArray();
        var held = (await store.AcquireAsync(ids[0], "other"))!;

        var won = await store.AcquireAsync(ids.Concat(ids), "me");

        Assert.Equal(9, won.Count);
        Assert.DoesNotContain(won, l => l.ResourceId == ids[0]);
        Assert.Equal(9, won.Select(l => l.Token).Distinct().Count());
        Assert.All(won, l => Assert.True(l.Token > held.Token));
    }

    [Fact]
    public void Lease_options_reject_a_margin_that_leaves_no_trust_window()
    {
        var options = new LeaseOptions { Duration = TimeSpan.FromSeconds(5), SafetyMargin = TimeSpan.FromSeconds(5) };
        var errors = options.Validate(new System.ComponentModel.DataAnnotations.ValidationContext(options)).ToList();
        Assert.Contains(errors, e => e.ErrorMessage!.Contains("SafetyMargin must be shorter", StringComparison.Ordinal));
    }

    private async Task<bool> DbSaysExpiredAsync(Guid id)
    {
        await using var cmd = DataSource.CreateCommand("select expires_at < clock_timestamp() from resource_leases where resource_id = @id");
        cmd.Parameters.AddWithValue("id", id);
        return (bool)(await cmd.ExecuteScalarAsync())!;
    }
}
