using System.Text.Json.Nodes;
using FsCheck;
using FsCheck.Fluent;
using OutboxSync.Worker.Tests.EndToEnd;
using OutboxSync.Worker.Tests.Support;
using Xunit.Abstractions;

namespace OutboxSync.Worker.Tests.Properties;

/// <summary>
/// Any interleaving of API calls on a parent and its children converges to the state a sequential run gives.
/// Random calls on one small family (network, subnets, ports, router, interfaces; the API's acceptance rules
/// decide which go through) are committed in random batches between drain passes of three replicas (1, 3 and
/// 16 resources in flight), against the real simulator process with random transient failures (503 before or
/// after applying, connection resets). Once drained, the back end must hold exactly what applying every entry
/// one by one in seq order gives, the simulator must have counted no violation (child before parent, parent
/// deleted before child, overlap, out of order, stale token, duplicate apply), every entry must be done or
/// superseded, and every surviving row ACTIVE at its latest revision.
/// </summary>
[Collection(nameof(EndToEndCollection))]
public sealed class DependencyConvergenceProperties(ITestOutputHelper output) : SimulatorBackedTests
{
    private WorkerHost[] _replicas = [];

    /// <summary>Injected faults of one run; the seed makes the simulator's fault sequence repeatable.</summary>
    public sealed record FaultPlan(int LatencyMaxMs, double FailureRate, double FailureAfterApplyRate, double ResetRate, int Seed)
    {
        public static readonly FaultPlan None = new(0, 0, 0, 0, 1);
    }

    /// <summary>Steps of up to three calls each: the step does the first that is a drain or that the API accepts.</summary>
    public sealed record Run(FaultPlan Faults, FamilyCall[][] Steps)
    {
        public override string ToString() => $"{Faults} [{string.Join(" ", Steps.Select(s => string.Join("|", s.Select(c => c.ToString()))))}]";
    }

    protected override async Task SetUpAsync()
    {
        await base.SetUpAsync();
        _replicas = [.. new[] { 1, 3, 16 }.Select((inFlight, i) => WorkerHost.Build(Database, Simulator.BaseUrl.ToString(), settings: new Dictionary<string, string?>
        {
            ["Worker:InstanceId"] = $"replica-{i}",
            ["Worker:MaxInFlight"] = inFlight.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["Worker:Retry:BaseDelay"] = "00:00:00.010",
            ["Worker:Retry:MaxDelay"] = "00:00:00.100",
            ["Worker:Retry:OutageDelay"] = "00:00:00.020",
            ["Worker:Retry:BlockedRecheck"] = "00:00:00.200",
            ["Worker:Retry:MaxAttempts"] = "20",
            // The breaker may open under injected failures; a short break keeps runs quick without switching it off.
            ["Backend:BreakDuration"] = "00:00:00.500",
        }))];
    }

    protected override async Task TearDownAsync()
    {
        foreach (var replica in _replicas)
        {
            await replica.DisposeAsync();
        }
        await base.TearDownAsync();
    }

    [Fact]
    public void Any_interleaving_of_calls_on_a_parent_and_its_children_converges_to_the_sequential_result()
    {
        // FsCheck prints the seed (StdGen) and the shrunk run of a failure, so it can be replayed.
        var config = Config.QuickThrowOnFailure.WithMaxTest(40);
        Check.One(config, Prop.ForAll(Runs(), run => RunAsync(run).GetAwaiter().GetResult()));
    }

    private static Arbitrary<Run> Runs()
    {
        var faults =
            from latency in Gen.Elements(0, 0, 20)
            from failure in Gen.Elements(0.0, 0.1, 0.2)
            from afterApply in Gen.Elements(0.0, 0.1)
            from reset in Gen.Elements(0.0, 0.05)
            from seed in Gen.Choose(1, 1_000_000)
            select new FaultPlan(latency, failure, afterApply, reset, seed);
        var runs =
            from plan in faults
            from length in Gen.Choose(10, 40)
            from steps in FamilyCall.Step().ArrayOf(length)
            select new Run(plan, steps);
        return Arb.From(runs, Shrink);
    }

    /// <summary>Without faults first, then without ever smaller chunks of steps (any subsequence is still a valid run).</summary>
    private static IEnumerable<Run> Shrink(Run run)
    {
        if (run.Faults != FaultPlan.None)
        {
            yield return run with { Faults = FaultPlan.None };
        }
        for (var size = run.Steps.Length / 2; size >= 1; size /= 2)
        {
            for (var start = 0; start + size <= run.Steps.Length; start += size)
            {
                yield return run with { Steps = [.. run.Steps[..start], .. run.Steps[(start + size)..]] };
            }
        }
    }

    private async Task RunAsync(Run run)
    {
        var started = System.Diagnostics.Stopwatch.StartNew();
        await ResetAsync(run.Faults);
        var family = new NetworkFamily(Scenario);
        var done = new List<FamilyCall>();
        try
        {
            foreach (var step in run.Steps)
            {
                foreach (var call in step)
                {
                    if (call.Kind == CallKind.Drain)
                    {
                        // The pass's drains run on while later calls commit; "wait" lets them finish first.
                        var pass = _replicas[call.Arg].Pass;
                        await pass.RunOnceAsync();
                        if (call.Slot == 1)
                        {
                            await pass.WhenIdleAsync();
                        }
                    }
                    else if (!await family.ApplyAsync(call))
                    {
                        continue;
                    }
                    done.Add(call);
                    break;
                }
            }
            await Eventually.WaitAsync(async () =>
            {
                foreach (var replica in _replicas)
                {
                    await replica.Pass.RunOnceAsync();
                }
                await WhenIdleAsync();
                return await Scenario.PendingCountAsync();
            }, n => n == 0, TimeSpan.FromSeconds(60), "every outbox entry finished");
            await Simulator.SetFaultsAsync(new { latency_max_ms = 0, failure_rate = 0.0, failure_after_apply_rate = 0.0, reset_rate = 0.0 });
            await AssertConvergedAsync(family);
            output.WriteLine($"{done.Count(c => c.Kind != CallKind.Drain)} calls accepted, {started.ElapsedMilliseconds} ms, {run.Faults}: {string.Join(" ", done)}");
        }
        catch (Exception e)
        {
            throw new InvalidOperationException($"{e.Message}\nAccepted calls and drains: {string.Join(" ", done)}", e);
        }
        finally
        {
            await WhenIdleAsync();
        }
    }

    private async Task ResetAsync(FaultPlan faults)
    {
        // Each run starts empty: no rows, no entries, no leases, and a simulator with no objects or counters.
        await using (var truncate = DataSource.CreateCommand(
            "truncate outbox_entries, resource_leases, router_interfaces, ip_allocations, released_addresses, ports, subnets, networks, routers"))
        {
            await truncate.ExecuteNonQueryAsync();
        }
        using (var reset = await Simulator.Admin.PostAsync("_sim/reset", null))
        {
            reset.EnsureSuccessStatusCode();
        }
        await Simulator.SetFaultsAsync(new
        {
            // Random latency reorders calls on different resources, so a child's call can overtake its parent's.
            latency_min_ms = 0,
            latency_max_ms = faults.LatencyMaxMs,
            failure_rate = faults.FailureRate,
            failure_after_apply_rate = faults.FailureAfterApplyRate,
            reset_rate = faults.ResetRate,
            seed = faults.Seed,
        });
    }

    private Task WhenIdleAsync() => Task.WhenAll(_replicas.Select(r => r.Pass.WhenIdleAsync()));

    private async Task AssertConvergedAsync(NetworkFamily family)
    {
        var violations = (await Simulator.ViolationsAsync()).Where(v => v.Value != 0).Select(v => $"{v.Key} = {v.Value}").ToList();
        Assert.True(violations.Count == 0, $"simulator counted violations: {string.Join(", ", violations)}");
        await using (var unfinished = DataSource.CreateCommand(
            "select coalesce(string_agg(resource_type || ' ' || operation || ' seq ' || seq || ': ' || state || ' ' || coalesce(last_error, ''), '; '), '') " +
            "from outbox_entries where state not in ('done', 'superseded')"))
        {
            Assert.Equal("", await unfinished.ExecuteScalarAsync());
        }

        // The back end holds exactly what the sequential run gives.
        var expected = await SequentialBackend.FromOutboxAsync(DataSource);
        foreach (var (collection, objects) in expected.Objects)
        {
            var actual = await Simulator.ListAsync(collection);
            Assert.True(objects.Keys.Order().SequenceEqual(actual.Keys.Order()),
                $"{collection}: expected [{string.Join(", ", objects.Keys.Order())}], back end has [{string.Join(", ", actual.Keys.Order())}]");
            foreach (var (id, (revision, attributes)) in objects)
            {
                var (actualRevision, actualAttributes) = actual[id];
                Assert.True(revision == actualRevision && JsonNode.DeepEquals(attributes, actualAttributes),
                    $"{collection} {id}: expected revision {revision} {attributes.ToJsonString()}, back end has {actualRevision} {actualAttributes.ToJsonString()}");
            }
        }
        var interfaces = (await Simulator.InterfacesAsync()).Select(i => (i.Port, i.Router, i.Revision)).Order().ToList();
        Assert.Equal(expected.Interfaces.Select(i => (i.Key, i.Value.Router, i.Value.Revision)).Order().ToList(), interfaces);

        // The sequential result is the family the accepted calls left (the entries describe what the API accepted).
        var live = family.Live();
        var (portObjects, liveInterfaces) = family.LiveAtBackEnd();
        Assert.Equal(live["networks"].Order(), expected.Objects["networks"].Keys.Order());
        Assert.Equal(live["subnets"].Order(), expected.Objects["subnets"].Keys.Order());
        Assert.Equal(live["routers"].Order(), expected.Objects["routers"].Keys.Order());
        Assert.Equal(portObjects.Order(), expected.Objects["ports"].Keys.Order());
        Assert.Equal(liveInterfaces.Select(i => (i.Port, i.Router)).Order(), expected.Interfaces.Select(i => (i.Key, i.Value.Router)).Order());

        // Rows: deleted ones gone, survivors ACTIVE at their latest revision.
        foreach (var (table, ids) in live)
        {
            await using var cmd = DataSource.CreateCommand($"select id, status, revision_number, applied_revision from {table}");
            var rows = new List<(Guid Id, string Status, long Revision, long Applied)>();
            await using (var r = await cmd.ExecuteReaderAsync())
            {
                while (await r.ReadAsync())
                {
                    rows.Add((r.GetGuid(0), r.GetString(1), r.GetInt64(2), r.GetInt64(3)));
                }
            }
            Assert.Equal(ids.Order(), rows.Select(x => x.Id).Order());
            Assert.All(rows, x => Assert.True(x.Status == "ACTIVE" && x.Applied == x.Revision, $"{table} {x}"));
        }
    }
}
