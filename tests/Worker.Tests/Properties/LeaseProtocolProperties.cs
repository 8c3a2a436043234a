using FsCheck;
using FsCheck.Fluent;
using Microsoft.Extensions.Options;
using OutboxSync.Leases;
using OutboxSync.Outbox;
using OutboxSync.Worker.Tests.Support;

namespace OutboxSync.Worker.Tests.Properties;

/// <summary>
/// Random interleavings of acquire, renew, release, expire and token-guarded writes by three holders of one
/// resource, against real PostgreSQL: at most one holder's token is the live one, every won acquisition has a
/// larger token than all before it, renew and release succeed exactly for the current token, and a holder whose
/// token is no longer current never gets a guarded write through.
/// </summary>
public sealed class LeaseProtocolProperties : DatabaseBackedTests
{
    private const int Holders = 3;

    public enum Kind { Acquire, Renew, Release, Expire, Write }

    public sealed record Step(Kind Kind, int Holder)
    {
        public override string ToString() => $"{Kind}({Holder})";
    }

    private static Arbitrary<Step[]> Interleavings()
    {
        var step =
            from kind in Gen.Elements(Kind.Acquire, Kind.Acquire, Kind.Renew, Kind.Release, Kind.Expire, Kind.Write, Kind.Write)
            from holder in Gen.Choose(0, Holders - 1)
            select new Step(kind, holder);
        return Arb.From(step.ArrayOf());
    }

    [Fact]
    public void Any_interleaving_keeps_one_live_holder_increasing_tokens_and_fences_stale_writes()
    {
        // FsCheck prints the seed of a failing run, so a failure can be replayed.
        var config = Config.QuickThrowOnFailure.WithMaxTest(40);
        Check.One(config, Prop.ForAll(Interleavings(), steps => RunAsync(steps).GetAwaiter().GetResult()));
    }

    private async Task RunAsync(Step[] steps)
    {
        var store = new LeaseStore(DataSource, Options.Create(new LeaseOptions { Duration = TimeSpan.FromSeconds(60), SafetyMargin = TimeSpan.Zero }),
            TimeProvider.System);
        var completion = new OutboxCompletion(DataSource);
        var id = Guid.NewGuid();
        var seq = await ScalarAsync<long>(
            "insert into outbox_entries (resource_type, resource_id, operation, revision, payload, project_id) " +
            "values ('network', @id, 'create', 1, '{}', 'p') returning seq", id);
        var held = new ResourceLease?[Holders];
        long highest = 0;
        var trace = new List<string>();

        foreach (var step in steps)
        {
            trace.Add(step.ToString());
            var (liveToken, anyToken) = await CurrentAsync(id);
            var lease = held[step.Holder];
            switch (step.Kind)
            {
                case Kind.Acquire:
                    var won = await store.AcquireAsync(id, $"holder-{step.Holder}");
                    if (liveToken is not null)
                    {
                        Assert.True(won is null, $"acquired over a live lease: {string.Join(" ", trace)}");
                    }
                    else
                    {
                        Assert.True(won is not null, $"no live lease, yet the acquire failed: {string.Join(" ", trace)}");
                    }
                    if (won is not null)
                    {
                        Assert.True(won.Token.Value > highest, $"token {won.Token.Value} not above {highest}: {string.Join(" ", trace)}");
                        highest = won.Token.Value;
                        held[step.Holder] = won;
                    }
                    break;
                case Kind.Renew when lease is not null:
                    var renewed = await store.RenewAsync(lease);
                    Assert.True(renewed == (liveToken == lease.Token.Value), $"renew {renewed} with live token {liveToken}: {string.Join(" ", trace)}");
                    break;
                case Kind.Release when lease is not null:
                    var released = await store.ReleaseAsync(lease);
                    var expected = liveToken == lease.Token.Value ? LeaseRelease.Released
                        : anyToken == lease.Token.Value ? LeaseRelease.RanOut
                        : LeaseRelease.NotHeld;
                    Assert.True(released == expected, $"release {released}, expected {expected} (live token {liveToken}, row token {anyToken}): {string.Join(" ", trace)}");
                    held[step.Holder] = null;
                    break;
                case Kind.Expire:
                    await ScalarAsync<int>("with e as (update resource_leases set expires_at = clock_timestamp() - interval '1 second' " +
                                           "where resource_id = @id returning 1) select count(*)::int from e", id);
                    break;
                case Kind.Write when lease is not null:
                    await ScalarAsync<int>("with e as (update outbox_entries set dispatched_at = null where seq = @id returning 1) select count(*)::int from e", seq);
                    var result = await completion.MarkDispatchedAsync(lease, [seq]);
                    var dispatched = await ScalarAsync<bool>("select dispatched_at is not null from outbox_entries where seq = @id", seq);
                    if (anyToken != lease.Token.Value)
                    {
                        Assert.True(result == CompletionResult.Lost && !dispatched,
                            $"stale token {lease.Token.Value} (current {anyToken}) wrote: {result}, dispatched {dispatched}: {string.Join(" ", trace)}");
                    }
                    else
                    {
                        Assert.True(result == CompletionResult.Written && dispatched, $"current token refused: {string.Join(" ", trace)}");
                    }
                    break;
            }

            // At most one holder carries the live token; no two holders ever share a token.
            var (live, _) = await CurrentAsync(id);
            Assert.True(held.Count(l => l is not null && l.Token.Value == live) <= 1, string.Join(" ", trace));
            var tokens = held.Where(l => l is not null).Select(l => l!.Token.Value).ToList();
            Assert.Equal(tokens.Count, tokens.Distinct().Count());
        }
    }

    /// <summary>The lease row's token if it is live by the database clock, and its token whether live or not.</summary>
    private async Task<(long? Live, long? Any)> CurrentAsync(Guid id)
    {
        await using var cmd = DataSource.CreateCommand("select token, expires_at > clock_timestamp() from resource_leases where resource_id = @id");
        cmd.Parameters.AddWithValue("id", id);
        await using var reader = await cmd.ExecuteReaderAsync();
        if (!await reader.ReadAsync())
        {
            return (null, null);
        }
        var token = reader.GetInt64(0);
        return (reader.GetBoolean(1) ? token : null, token);
    }

    private async Task<T> ScalarAsync<T>(string sql, object id)
    {
        await using var cmd = DataSource.CreateCommand(sql);
        cmd.Parameters.AddWithValue("id", id);
        return (T)(await cmd.ExecuteScalarAsync())!;
    }
}
