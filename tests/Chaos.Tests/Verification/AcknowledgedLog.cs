using System.Text.Json;
using OutboxSync.Chaos.Tests.Workload;

namespace OutboxSync.Chaos.Tests.Verification;

/// <summary>
/// The acknowledged-operations log, Jepsen's history: one JSON line per operation the API acknowledged (or whose
/// commit a client confirmed), with what the checker judged became of it, so a run's verdict can be audited line by
/// line after the run.
/// </summary>
public static class AcknowledgedLog
{
    public static async Task WriteAsync(string path, IReadOnlyCollection<AcceptedOperation> accepted, ChaosVerdict verdict)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        await using var file = File.CreateText(path);
        foreach (var a in accepted)
        {
            await file.WriteLineAsync(JsonSerializer.Serialize(new
            {
                kind = a.Kind.ToString(),
                type = a.Resource.Type,
                id = a.Resource.Id,
                unit = a.Resource.Unit,
                revision = a.Revision,
                recovered = a.Recovered,
                outcome = verdict.OutcomeOf(a).ToString(),
            }));
        }
    }
}
