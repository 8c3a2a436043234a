// OutboxSync benchmark harness: starts PostgreSQL, the simulator, each design's processes, drives load, prints tables,
// writes bench/results/results.json, results.md and SVG charts. See BENCHMARKS.md.
//   dotnet bench/OutboxSync.Bench/bin/Release/net10.0/OutboxSync.Bench.dll [--smoke] [--designs a,b] [--scenarios S1,S2] [--out dir] [--root dir]
using System.Text.Json;
using System.Text.Json.Nodes;
using OutboxSync.Bench;

var options = BenchOptions.Parse(args);
Console.WriteLine($"OutboxSync bench ({(options.Smoke ? "smoke" : "full")}): designs {string.Join(',', options.Designs)}, scenarios {string.Join(',', options.Scenarios)}");
Console.WriteLine($"system binaries from {options.Root} ({options.Configuration}); results to {options.Out}");
Directory.CreateDirectory(options.Out);
using var hardStop = new CancellationTokenSource(options.Smoke ? TimeSpan.FromMinutes(10) : TimeSpan.FromMinutes(90));
hardStop.Token.Register(() => { Console.Error.WriteLine("bench: hard time limit reached, exiting"); Environment.Exit(3); });

await using var pg = await Postgres.StartAsync();
Console.WriteLine($"PostgreSQL {pg.Version} on port {pg.Port}");
await Shell.RunAsync("dotnet", [Path.Combine(options.Root, "src", "Migrator", "bin", options.Configuration, "net10.0", "OutboxSync.Migrator.dll"), pg.ConnectionString(pool: 5)]);

var results = new Results(options, pg.Version);
var scenarios = new Scenarios(options, pg, results);
var failed = false;
foreach (var design in options.Designs)
{
    try
    {
        await scenarios.RunDesignAsync(design);
    }
    catch (Exception e)
    {
        failed = true;
        Console.Error.WriteLine($"\n{design} failed: {e}");
        results.Add("errors", design, new { error = e.Message });
    }
    // Written after every design, so a long run that is interrupted still leaves what it measured.
    await results.WriteAsync();
}
results.Finish();
Console.WriteLine();
Console.WriteLine(results.Markdown());
await results.WriteAsync();
Console.WriteLine($"wrote {Path.Combine(options.Out, "results.json")}, results.md, s1-latency-*.svg, s2-scaling.svg");
return failed ? 1 : 0;
