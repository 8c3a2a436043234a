using System.Diagnostics;

namespace OutboxSync.Testing;

/// <summary>
/// Throwaway PostgreSQL clusters left by processes that were killed (a run cut off at its deadline, a cancelled CI
/// job): their cleanup never ran, so their postmaster would run on. A cluster's directory is named
/// <c>{prefix}{pid}</c>, optionally followed by <c>-…</c>, after the process that made it. Shared by the test
/// harness and the bench harness (linked into bench/ as source, which references no test project).
/// </summary>
internal static class AbandonedClusters
{
    /// <summary>Stops (with <paramref name="stopCluster"/>, given the data directory) and deletes every cluster under
    /// the temp directory whose creating process is gone; a live process's cluster is left alone.</summary>
    public static async Task SweepAsync(string prefix, Func<string, Task> stopCluster)
    {
        foreach (var root in Directory.EnumerateDirectories(Path.GetTempPath(), prefix + "*"))
        {
            if (!int.TryParse(Path.GetFileName(root)[prefix.Length..].Split('-')[0], out var pid) || IsAlive(pid))
            {
                continue;
            }
            var dataDir = Path.Combine(root, "data");
            if (File.Exists(Path.Combine(dataDir, "postmaster.pid")))
            {
                try
                {
                    await stopCluster(dataDir);
                }
                catch (InvalidOperationException)
                {
                    // Not running (a stale pid file).
                }
            }
            try
            {
                Directory.Delete(root, recursive: true);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // Someone else is sweeping it, or it is not ours to delete.
            }
        }
    }

    /// <summary>Whether the process <paramref name="pid"/> still runs (also used for Keystone's sweep).</summary>
    internal static bool IsAlive(int pid)
    {
        try
        {
            using var process = Process.GetProcessById(pid);
            return !process.HasExited;
        }
        catch (ArgumentException)
        {
            return false;
        }
    }
}
