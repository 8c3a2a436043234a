using System.Text;

namespace OutboxSync.Chaos.Tests.Verification;

/// <summary>
/// The run's result as a Markdown table: measurements, and checks marked ok / FAIL. Every failed check is also a
/// failure of the test, listed under the table with details.
/// </summary>
public sealed class SummaryTable
{
    private readonly List<(string Area, string What, string Value, bool? Ok)> _rows = [];
    private readonly List<string> _failures = [];

    public IReadOnlyList<string> Failures => _failures;

    /// <summary>A measurement (no verdict).</summary>
    public void Note(string area, string what, string value) => _rows.Add((area, what, value, null));

    /// <summary>A check; <paramref name="details"/> explain a failure below the table.</summary>
    public void Check(string area, string what, string value, bool ok, IEnumerable<string>? details = null)
    {
        _rows.Add((area, what, value, ok));
        if (!ok)
        {
            var shown = (details ?? []).Take(20).ToList();
            _failures.Add(shown.Count == 0 ? $"{area}: {what} = {value}" : $"{area}: {what} = {value}\n    " + string.Join("\n    ", shown));
        }
    }

    public string Render()
    {
        var text = new StringBuilder();
        text.AppendLine("| area | what | value | check |");
        text.AppendLine("|---|---|---|---|");
        foreach (var (area, what, value, ok) in _rows)
        {
            text.AppendLine($"| {area} | {what} | {value.Replace("|", "/", StringComparison.Ordinal)} | {ok switch { true => "ok", false => "FAIL", null => "" }} |");
        }
        text.AppendLine();
        text.AppendLine(_failures.Count == 0 ? "Result: PASS (every check ok)" : $"Result: FAIL ({_failures.Count} checks failed)");
        foreach (var failure in _failures)
        {
            text.AppendLine("- " + failure);
        }
        return text.ToString();
    }
}
