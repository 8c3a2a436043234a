using System.Text.Json;
using System.Text.Json.Nodes;

namespace OutboxSync.Bench;

/// <summary>Everything measured, keyed scenario → design → values; serialised as results.json.</summary>
public sealed class Results(BenchOptions o, string pgVersion)
{
    private readonly JsonObject _root = new()
    {
        ["started_at"] = DateTimeOffset.UtcNow.ToString("O"),
        ["mode"] = o.Smoke ? "smoke" : "full",
        ["command"] = o.CommandLine,
        ["machine"] = new JsonObject
        {
            ["nproc"] = Environment.ProcessorCount,
            ["memory_gib"] = Math.Round(GC.GetGCMemoryInfo().TotalAvailableMemoryBytes / 1024.0 / 1024 / 1024, 1),
            ["postgresql"] = pgVersion,
            ["dotnet"] = Environment.Version.ToString(),
            ["os"] = System.Runtime.InteropServices.RuntimeInformation.OSDescription,
            ["loadavg_at_start"] = File.ReadAllText("/proc/loadavg").Trim(),
        },
        ["in_flight_limit"] = o.InFlight,
        ["scenarios"] = new JsonObject(),
    };

    public JsonObject Scenarios => _root["scenarios"]!.AsObject();

    public void Add(string scenario, string design, object value)
    {
        if (Scenarios[scenario] is not JsonObject s) Scenarios[scenario] = s = new JsonObject();
        s[design] = JsonSerializer.SerializeToNode(value);
    }

    public JsonNode? Get(string scenario, string design) => Scenarios[scenario]?[design];

    public void Finish()
    {
        _root["finished_at"] = DateTimeOffset.UtcNow.ToString("O");
        _root["machine"]!["loadavg_at_finish"] = File.ReadAllText("/proc/loadavg").Trim();
    }

    public async Task WriteAsync()
    {
        await File.WriteAllTextAsync(Path.Combine(o.Out, "results.json"), _root.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
        await File.WriteAllTextAsync(Path.Combine(o.Out, "results.md"), Markdown());
        Charts.Write(o, this);
    }

    public string Markdown() => Report.Markdown(o, _root);
}
