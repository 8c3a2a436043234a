using System.Diagnostics;
using System.Text.Json.Nodes;
using Xunit;

namespace OutboxSync.Bench.Tests;

/// <summary>Runs the benchmark harness in --smoke mode as a real process so it never rots.</summary>
public sealed class SmokeRunTests
{
    [Fact]
    public async Task Smoke_run_completes_and_writes_its_results()
    {
        var root = RepositoryRoot();
        var configuration = AppContext.BaseDirectory.Contains($"{Path.DirectorySeparatorChar}Release{Path.DirectorySeparatorChar}") ? "Release" : "Debug";
        var harness = Path.Combine(root, "bench", "OutboxSync.Bench", "bin", configuration, "net10.0", "OutboxSync.Bench.dll");
        var output = Directory.CreateTempSubdirectory("bench-smoke-");
        // The product, one synchronous baseline and the 2014 lock table in both readings (Hangfire's server start and queue polling alone take about a minute);
        // the full run (BENCHMARKS.md) covers every design. About a minute on an idle 2-core machine, but the suite runs
        // test assemblies side by side, and at load 15 one run took over two; the deadline only catches a hang.
        var psi = new ProcessStartInfo("dotnet") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        // T1 (cost per operation: pgbench of bench/accept-floor.pgbench.sql, network creates and GETs) adds ten seconds.
        foreach (var a in new[] { harness, "--smoke", "--designs", "outboxsync,inline,lock-table-unique,lock-table", "--scenarios", "S1,S2,S5,T1", "--out", output.FullName })
        {
            psi.ArgumentList.Add(a);
        }
        using var process = Process.Start(psi)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(8));
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail($"smoke run exceeded 8 minutes:\n{await stdout}\n{await stderr}");
        }

        Assert.True(process.ExitCode == 0, $"harness exited {process.ExitCode}:\n{await stdout}\n{await stderr}");
        var json = JsonNode.Parse(await File.ReadAllTextAsync(Path.Combine(output.FullName, "results.json")))!;
        foreach (var design in new[] { "outboxsync", "inline", "lock-table-unique", "lock-table" })
        {
            Assert.NotNull(json["scenarios"]!["S1"]![design]);
            Assert.NotNull(json["scenarios"]!["S5"]![design]);
            Assert.NotNull(json["scenarios"]!["S7"]![design]!["total"]); // violation counts are reported, not asserted, in a smoke run
        }
        Assert.NotNull(json["scenarios"]!["T1"]!["outboxsync"]!["ratio_create_to_pgbench"]); // OutboxSync only
        Assert.True(File.Exists(Path.Combine(output.FullName, "s2-scaling.svg")));
        output.Delete(recursive: true);
    }

    private static string RepositoryRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "OutboxSync.sln")))
        {
            dir = dir.Parent;
        }
        return dir?.FullName ?? throw new InvalidOperationException("OutboxSync.sln not found");
    }
}
