using System.Collections.Concurrent;
using System.Text.Json;

namespace OutboxSync.Simulator.Calls;

/// <summary>Call counts for <c>GET /_sim/stats</c>: every /v1 call by "METHOD collection", mutations by outcome.</summary>
internal sealed class CallStats
{
    private readonly ConcurrentDictionary<string, long> byRoute = new(StringComparer.Ordinal);
    private readonly long[] byOutcome = new long[Enum.GetValues<CallOutcome>().Length];

    public void CountCall(string method, string collection) =>
        byRoute.AddOrUpdate($"{method} {collection}", 1, (_, count) => count + 1);

    public void CountOutcome(CallOutcome outcome) => Interlocked.Increment(ref byOutcome[(int)outcome]);

    public SortedDictionary<string, long> Calls() => new(byRoute, StringComparer.Ordinal);

    /// <summary>Every outcome, zero included, keyed by its snake_case name.</summary>
    public Dictionary<string, long> Outcomes() =>
        Enum.GetValues<CallOutcome>().ToDictionary(
            outcome => JsonNamingPolicy.SnakeCaseLower.ConvertName(outcome.ToString()),
            outcome => Interlocked.Read(ref byOutcome[(int)outcome]),
            StringComparer.Ordinal);

    public void Reset()
    {
        byRoute.Clear();
        for (var i = 0; i < byOutcome.Length; i++)
        {
            Interlocked.Exchange(ref byOutcome[i], 0);
        }
    }
}
