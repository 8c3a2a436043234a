using System.Globalization;
using System.Text.RegularExpressions;

namespace OutboxSync.Worker.Tests.Support;

/// <summary>One scrape of a Prometheus text endpoint: samples by metric name with their labels.</summary>
public sealed partial class MetricsScrape
{
    private readonly List<(string Name, Dictionary<string, string> Labels, double Value)> _samples;

    private MetricsScrape(List<(string, Dictionary<string, string>, double)> samples, string text)
    {
        _samples = samples;
        Text = text;
    }

    public string Text { get; }

    /// <summary>The OutboxSync series only, for failure messages.</summary>
    public override string ToString() => string.Join('\n', Text.Split('\n').Where(l => l.StartsWith("outboxsync_", StringComparison.Ordinal)));

    public static async Task<MetricsScrape> ReadAsync(HttpClient http, string baseUrl)
    {
        var text = await http.GetStringAsync(baseUrl.TrimEnd('/') + "/metrics");
        var samples = new List<(string, Dictionary<string, string>, double)>();
        foreach (var line in text.Split('\n'))
        {
            var m = SampleLine().Match(line);
            if (!m.Success)
            {
                continue;
            }
            var labels = new Dictionary<string, string>();
            foreach (Match l in LabelPair().Matches(m.Groups["labels"].Value))
            {
                labels[l.Groups[1].Value] = l.Groups[2].Value;
            }
            var raw = m.Groups["value"].Value;
            var value = raw switch
            {
                "+Inf" => double.PositiveInfinity,
                "-Inf" => double.NegativeInfinity,
                "NaN" => double.NaN,
                _ => double.Parse(raw, CultureInfo.InvariantCulture),
            };
            samples.Add((m.Groups["name"].Value, labels, value));
        }
        return new MetricsScrape(samples, text);
    }

    public bool Has(string name) => _samples.Any(s => s.Name == name);

    /// <summary>Sum of the samples named <paramref name="name"/> whose labels include every given pair (0 when none).</summary>
    public double Sum(string name, params (string Label, string Value)[] where) =>
        _samples.Where(s => s.Name == name && where.All(w => s.Labels.TryGetValue(w.Label, out var v) && v == w.Value))
            .Sum(s => s.Value);

    [GeneratedRegex(@"^(?<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?<labels>.*)\})?\s+(?<value>\S+)(\s+\d+)?\s*$")]
    private static partial Regex SampleLine();

    [GeneratedRegex("([a-zA-Z_][a-zA-Z0-9_]*)=\"((?:[^\"\\\\]|\\\\.)*)\"")]
    private static partial Regex LabelPair();
}
