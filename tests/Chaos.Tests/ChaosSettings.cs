using System.Globalization;

namespace OutboxSync.Chaos.Tests;

/// <summary>
/// Size and timing of a chaos run, from environment variables. The defaults are the CI run (a few minutes on a
/// busy 2-core machine, next to the other test assemblies); scripts/chaos.sh sets the full sizes.
/// </summary>
public sealed record ChaosSettings(int Operations, int Resources, TimeSpan FaultPhase, int Clients, int Seed, string? ReportPath, string? LogDirectory)
{
    /// <summary>Accepted API operations to issue at least (CHAOS_OPERATIONS). CI default 1,000.</summary>
    public const int DefaultOperations = 1000;

    /// <summary>Resources to create at least (CHAOS_RESOURCES). CI default 200.</summary>
    public const int DefaultResources = 200;

    /// <summary>Seconds the workload is spread over while faults fire (CHAOS_SECONDS). CI default 90.</summary>
    public const int DefaultSeconds = 90;

    /// <summary>Concurrent API clients (CHAOS_CLIENTS). Default 6.</summary>
    public const int DefaultClients = 6;

    /// <summary>Lease duration the workers run with: short, so kills and the pause hand work over quickly.</summary>
    public static readonly TimeSpan LeaseDuration = TimeSpan.FromSeconds(8);

    /// <summary>
    /// Lease safety margin. It must exceed the longest a paused worker's call can stay in flight at the simulator
    /// (latency + hang), or the takeover after the pause would overlap that call.
    /// </summary>
    public static readonly TimeSpan LeaseSafetyMargin = TimeSpan.FromSeconds(3);

    /// <summary>The SIGSTOP: longer than a lease, so every lease the paused worker holds expires meanwhile.</summary>
    public static readonly TimeSpan PauseDuration = LeaseDuration + TimeSpan.FromSeconds(5);

    /// <summary>The simulator's full outage.</summary>
    public static readonly TimeSpan OutageDuration = TimeSpan.FromSeconds(10);

    /// <summary>How long an injected hang holds a call; the workers give up after <see cref="AttemptTimeout"/>.</summary>
    public const int HangMilliseconds = 2000;

    public static readonly TimeSpan AttemptTimeout = TimeSpan.FromSeconds(1);

    public const int Replicas = 3;

    public static ChaosSettings FromEnvironment() => new(
        Read("CHAOS_OPERATIONS", DefaultOperations),
        Read("CHAOS_RESOURCES", DefaultResources),
        TimeSpan.FromSeconds(Read("CHAOS_SECONDS", DefaultSeconds)),
        Read("CHAOS_CLIENTS", DefaultClients),
        Read("CHAOS_SEED", Environment.TickCount & 0xFFFF),
        Text("CHAOS_REPORT"),
        Text("CHAOS_LOGS"));

    /// <summary>An environment variable's text, or null when unset or empty.</summary>
    internal static string? Text(string name) => Environment.GetEnvironmentVariable(name) is { Length: > 0 } value ? value : null;

    /// <summary>A positive integer from an environment variable, or <paramref name="fallback"/> when unset.</summary>
    internal static int Read(string name, int fallback)
    {
        var text = Environment.GetEnvironmentVariable(name);
        if (string.IsNullOrWhiteSpace(text))
        {
            return fallback;
        }
        return int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var value) && value > 0
            ? value
            : throw new InvalidOperationException($"{name} must be a positive integer, not '{text}'.");
    }
}
