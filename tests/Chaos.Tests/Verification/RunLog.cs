using System.Diagnostics;
using Xunit.Abstractions;

namespace OutboxSync.Chaos.Tests.Verification;

/// <summary>A run's timestamped progress lines, to the test output and the console (scripts tee it), and the
/// run's clock.</summary>
public sealed class RunLog(ITestOutputHelper output, string name)
{
    private readonly Stopwatch _clock = Stopwatch.StartNew();

    public TimeSpan Elapsed => _clock.Elapsed;

    public void Write(string line)
    {
        var stamped = $"[{name} {_clock.Elapsed.TotalSeconds,6:F1} s] {line}";
        try
        {
            output.WriteLine(stamped);
        }
        catch (InvalidOperationException)
        {
            // Output helper closed (a late background message after the test ended).
        }
        Console.WriteLine(stamped);
    }

    /// <summary>The task's failure, or null: a run reports every failure in its table instead of stopping at one.</summary>
    public static async Task<Exception?> FailureOfAsync(Task task)
    {
        try
        {
            await task;
            return null;
        }
        catch (Exception e)
        {
            return e;
        }
    }
}
