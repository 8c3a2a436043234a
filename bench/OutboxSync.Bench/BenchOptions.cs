namespace OutboxSync.Bench;

public sealed class BenchOptions
{
    public bool Smoke { get; init; }
    public string Root { get; init; } = "";
    public string BenchRoot { get; init; } = "";
    public string Out { get; init; } = "";
    public string[] Designs { get; init; } = global::OutboxSync.Bench.Designs.All;
    /// <summary>Run when --scenarios is not given. L1, T3 (2–5 min) and T4 (~2.5 min) only when asked for; T1 and T2 take under a minute each.</summary>
    public static readonly string[] DefaultScenarios = ["S1", "S2", "S3", "S4", "S5", "S8", "T1", "T2"];
    public string[] Scenarios { get; init; } = DefaultScenarios;
    public int InFlight { get; init; } = 32;
    /// <summary>Build configuration of the processes started: the harness's own (Release for real runs; the CI smoke test runs Debug).</summary>
    public string Configuration { get; init; } =
        AppContext.BaseDirectory.Contains($"{Path.DirectorySeparatorChar}Debug{Path.DirectorySeparatorChar}") ? "Debug" : "Release";
    public string CommandLine { get; init; } = "";

    // Sizes: full run / smoke run.
    public int[] S1Clients => Smoke ? [4, 8] : [64, 256];
    public TimeSpan S1Duration => TimeSpan.FromSeconds(Smoke ? 1 : 10);
    public int L1Clients => Smoke ? 8 : 200;
    public TimeSpan L1Duration => TimeSpan.FromSeconds(Smoke ? 2 : 60);
    public int S1LatencyMs => Smoke ? 200 : 1000;
    public TimeSpan ClientTimeout => TimeSpan.FromSeconds(Smoke ? 5 : 30);
    public int S2Resources => Smoke ? 20 : 2000;
    public int S2OpsPerResource => 5;
    public int[] S2Replicas => Smoke ? [1] : [1, 2, 4];
    public int S2LatencyMs => Smoke ? 50 : 200;
    public int LoadClients => Smoke ? 8 : 64;
    public TimeSpan SyncDuration => TimeSpan.FromSeconds(Smoke ? 1 : 8);
    public int S3Ports => Smoke ? 50 : 5000;
    public int PgbenchSeconds => Smoke ? 1 : 10;
    public int S4Count => Smoke ? 10 : 300;
    public int S4Warmup => Smoke ? 2 : 50;
    public int S4Rounds => Smoke ? 2 : 5;
    public int S5Updates => Smoke ? 10 : 100;
    public int S5LatencyMs => Smoke ? 50 : 200;
    public long[] S8Finished => Smoke ? [0, 1_000] : [0, 100_000, 1_000_000];
    public long S8Live => Smoke ? 500 : 100_000;
    // T1–T4, cost per operation (OutboxSync only): every measured window follows an unmeasured warm-up of the same load.
    /// <summary>Warm-up before each measured window. 5 s was not enough on 2 loaded cores: the first windows of a run measured
    /// the JIT (T2 with 20,000 addresses ran 1.9× faster than the empty window before it).</summary>
    public TimeSpan CostWarmup => TimeSpan.FromSeconds(Smoke ? 1 : 20);
    public TimeSpan CostDuration => TimeSpan.FromSeconds(Smoke ? 2 : 10);
    public int CostClients => Smoke ? 8 : 64;
    public int PgbenchAcceptClients => 16;
    public int T2Filled => Smoke ? 2_000 : 20_000;
    public int T3Backlog => Smoke ? 5_000 : 50_000;
    /// <summary>The small backlog T3 compares against: pending entries topped up to this many (2 workers × 32 in flight, plus a queue).</summary>
    public int T3SmallBacklog => 300;
    public TimeSpan T3Window => TimeSpan.FromSeconds(Smoke ? 3 : 15);
    /// <summary>How long each T3 backlog window may wait, past the warm-up, for the workers' CPU per call to stop falling.</summary>
    public TimeSpan T3SteadyWait => TimeSpan.FromSeconds(Smoke ? 10 : 90);
    /// <summary>Replica counts T4 runs at 1 s device latency; <c>--t4-replicas 8</c> (comma-separated) picks some.</summary>
    public int[] T4Replicas => T4ReplicasChosen ?? (Smoke ? [1, 2] : [1, 2, 4, 8]);
    public int[]? T4ReplicasChosen { get; init; }
    /// <summary>
    /// Replica counts T4 runs at 200 ms device latency (<c>--t4-replicas-200ms 1,2,4</c>): the target is one replica's;
    /// more replicas show where the CPU, not the device, caps the drain (each row says where the machine's CPU went).
    /// </summary>
    public int[] T4FastReplicas => T4FastReplicasChosen ?? (Smoke ? [1] : [1, 2, 4]);
    public int[]? T4FastReplicasChosen { get; init; }
    /// <summary>The least time a T3 backlog window's workers run before it is measured (<c>--t3-warmup SECONDS</c>; 60 in a full
    /// run): a replica's tiered JIT is still promoting its periodic paths (maintenance, heartbeat) a minute after start.</summary>
    public TimeSpan? T3WarmupChosen { get; init; }
    public TimeSpan T4Window => TimeSpan.FromSeconds(Smoke ? 2 : 15);
    public TimeSpan DrainTimeout => TimeSpan.FromSeconds(Smoke ? 60 : 600);

    public static BenchOptions Parse(string[] args)
    {
        string? Value(string name) { var i = Array.IndexOf(args, name); return i >= 0 && i + 1 < args.Length ? args[i + 1] : null; }
        var repo = FindRepo();
        var smoke = args.Contains("--smoke");
        return new BenchOptions
        {
            Smoke = smoke,
            Root = Path.GetFullPath(Value("--root") ?? Environment.GetEnvironmentVariable("OUTBOXSYNC_BENCH_ROOT") ?? repo),
            BenchRoot = repo,
            Out = Path.GetFullPath(Value("--out") ?? Path.Combine(repo, "bench", "results", smoke ? "smoke" : "")),
            Designs = Value("--designs")?.Split(',') ?? global::OutboxSync.Bench.Designs.All,
            Scenarios = Value("--scenarios")?.Split(',') ?? DefaultScenarios,
            T4ReplicasChosen = Value("--t4-replicas")?.Split(',').Select(int.Parse).ToArray(),
            T4FastReplicasChosen = Value("--t4-replicas-200ms")?.Split(',').Select(int.Parse).ToArray(),
            T3WarmupChosen = Value("--t3-warmup") is { } warmup ? TimeSpan.FromSeconds(int.Parse(warmup, System.Globalization.CultureInfo.InvariantCulture)) : null,
            CommandLine = "dotnet bench/OutboxSync.Bench/bin/Release/net10.0/OutboxSync.Bench.dll " + string.Join(' ', args),
        };
    }

    private static string FindRepo()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "OutboxSync.sln"))) dir = dir.Parent;
        return dir?.FullName ?? Directory.GetCurrentDirectory();
    }

    public bool Has(string s) => Scenarios.Contains(s);
}
