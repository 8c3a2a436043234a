using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Npgsql;

namespace OutboxSync.Testing;

/// <summary>
/// The PostgreSQL server tests run against, found in this order: a connection string in
/// OUTBOXSYNC_TEST_DATABASE; else a throwaway cluster from the installed binaries (initdb as the postgres
/// user when running as root), stopped when the process exits. One per test process.
/// </summary>
public sealed class PostgresServer : IAsyncDisposable
{
    public const string EnvironmentVariable = "OUTBOXSYNC_TEST_DATABASE";

    private static readonly Lazy<Task<PostgresServer>> Shared = new(StartAsync);
    private readonly string? _dataDir;
    private readonly string? _binDir;
    private readonly string? _startOptions;
    private readonly string? _root;
    private readonly bool _dedicated;

    private PostgresServer(string adminConnectionString, string? dataDir, string? binDir, int port, string? startOptions = null, string? root = null, bool dedicated = false)
    {
        AdminConnectionString = adminConnectionString;
        _dataDir = dataDir;
        _binDir = binDir;
        Port = port;
        _startOptions = startOptions;
        _root = root;
        _dedicated = dedicated;
    }

    /// <summary>Connection string of a superuser on the maintenance database.</summary>
    public string AdminConnectionString { get; }

    public int Port { get; }

    /// <summary>The cluster's data directory when this process started it (for restart tests), else null.</summary>
    public string? DataDirectory => _dataDir;

    /// <summary>The PostgreSQL binaries (pg_ctl, psql) when this process started the cluster, else null.</summary>
    public string? BinDirectory => _binDir;

    public static Task<PostgresServer> InstanceAsync() => Shared.Value;

    /// <summary>
    /// A cluster of its own (never the shared one), for tests that stop and start the database; stopped and deleted
    /// on dispose. Needs the installed binaries even when OUTBOXSYNC_TEST_DATABASE is set.
    /// </summary>
    /// <param name="listenAddress">Another address to listen on besides loopback (a test network's).</param>
    /// <param name="trustedNetwork">A CIDR whose clients are trusted as on loopback (the test network's hosts).</param>
    public static Task<PostgresServer> StartDedicatedAsync(string? listenAddress = null, string? trustedNetwork = null) =>
        StartClusterAsync(dedicated: true, listenAddress, trustedNetwork);

    public string ConnectionStringFor(string database) =>
        new NpgsqlConnectionStringBuilder(AdminConnectionString) { Database = database }.ConnectionString;

    private static async Task<PostgresServer> StartAsync()
    {
        var fromEnv = Environment.GetEnvironmentVariable(EnvironmentVariable);
        if (!string.IsNullOrWhiteSpace(fromEnv))
        {
            var port = new NpgsqlConnectionStringBuilder(fromEnv).Port;
            return new PostgresServer(fromEnv, null, null, port);
        }
        return await StartClusterAsync(dedicated: false);
    }

    private static async Task<PostgresServer> StartClusterAsync(bool dedicated, string? listenAddress = null, string? trustedNetwork = null)
    {
        var binDir = FindBinaries() ?? throw new InvalidOperationException(
            $"No PostgreSQL found: set {EnvironmentVariable} to a connection string, or install PostgreSQL (initdb, pg_ctl).");
        // A killed test process never ran its exit handler, and the test host is often ended before it finishes.
        await AbandonedClusters.SweepAsync(ClusterPrefix, dataDir =>
            RunPgAsync(Environment.UserName == "root", Path.Combine(binDir, "pg_ctl"), ["-D", dataDir, "-m", "immediate", "stop"]));
        var root = Path.Combine(Path.GetTempPath(), $"{ClusterPrefix}{Environment.ProcessId}-{Guid.NewGuid():N}"[..40]);
        Directory.CreateDirectory(root);
        var dataDir = Path.Combine(root, "data");
        var asRoot = Environment.UserName == "root";
        if (asRoot)
        {
            await RunAsync("chown", ["postgres:postgres", root]);
        }

        await RunPgAsync(asRoot, Path.Combine(binDir, "initdb"), ["-D", dataDir, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-sync"]);
        if (trustedNetwork is not null)
        {
            await File.AppendAllTextAsync(Path.Combine(dataDir, "pg_hba.conf"), $"host all all {trustedNetwork} trust\n");
        }
        var freePort = ServiceProcess.FreePort();
        var listen = listenAddress is null ? "127.0.0.1" : $"127.0.0.1,{listenAddress}";
        var options = $"-p {freePort} -k {root} -c listen_addresses={listen} -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=300 -c shared_buffers=128MB";
        await RunPgAsync(asRoot, Path.Combine(binDir, "pg_ctl"), ["-D", dataDir, "-o", options, "-l", Path.Combine(root, "log"), "-w", "-t", "60", "start"]);

        var server = new PostgresServer(
            $"Host=127.0.0.1;Port={freePort};Username=postgres;Database=postgres;Pooling=true;Maximum Pool Size=200;Timeout=30",
            dataDir, binDir, freePort, options, root, dedicated);
        AppDomain.CurrentDomain.ProcessExit += (_, _) => server.Stop(asRoot, root);
        return server;
    }

    private const string ClusterPrefix = "outboxsync-pg-";

    /// <summary>Restarts the cluster this process started (fast shutdown); no-op for an external server.</summary>
    public async Task RestartAsync()
    {
        if (_dataDir is null || _binDir is null)
        {
            throw new InvalidOperationException("Restart needs a cluster started by the tests.");
        }
        await RunPgAsync(Environment.UserName == "root", Path.Combine(_binDir, "pg_ctl"), ["-D", _dataDir, "-m", "fast", "-w", "restart"]);
    }

    /// <summary>Stops the cluster this process started; used by tests that need the database down.</summary>
    public Task StopAsync() =>
        RunPgAsync(Environment.UserName == "root", Path.Combine(_binDir!, "pg_ctl"), ["-D", _dataDir!, "-m", "fast", "-w", "stop"]);

    /// <summary>Starts a stopped cluster again with its original port, socket directory and settings.</summary>
    public Task StartAgainAsync() =>
        RunPgAsync(Environment.UserName == "root", Path.Combine(_binDir!, "pg_ctl"),
            ["-D", _dataDir!, "-o", _startOptions!, "-l", Path.Combine(_root!, "log"), "-w", "-t", "60", "start"]);

    /// <summary>Stops and deletes a dedicated cluster (the shared one is left to process exit).</summary>
    public ValueTask DisposeAsync()
    {
        if (_dedicated && _root is not null)
        {
            Stop(Environment.UserName == "root", _root);
        }
        return ValueTask.CompletedTask;
    }

    private void Stop(bool asRoot, string root)
    {
        try
        {
            var args = new[] { "-D", _dataDir!, "-m", "immediate", "stop" };
            RunPgAsync(asRoot, Path.Combine(_binDir!, "pg_ctl"), args).GetAwaiter().GetResult();
        }
        catch (InvalidOperationException)
        {
            // Already stopped.
        }
        try
        {
            Directory.Delete(root, recursive: true);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }

    /// <summary>The installed PostgreSQL binaries' directory (initdb, pg_ctl, pg_basebackup, psql).</summary>
    public static string Binaries() => FindBinaries() ?? throw new InvalidOperationException("No PostgreSQL binaries (initdb, pg_ctl) installed.");

    private static string? FindBinaries()
    {
        var candidates = new List<string>();
        if (Directory.Exists("/usr/lib/postgresql"))
        {
            candidates.AddRange(Directory.GetDirectories("/usr/lib/postgresql").OrderDescending().Select(d => Path.Combine(d, "bin")));
        }
        candidates.Add("/usr/local/bin");
        candidates.Add("/usr/bin");
        return candidates.FirstOrDefault(d => File.Exists(Path.Combine(d, "initdb")) && File.Exists(Path.Combine(d, "pg_ctl")));
    }

    /// <summary>Runs one of the PostgreSQL binaries (<paramref name="tool"/>: initdb, pg_ctl, pg_basebackup, …) as the
    /// postgres user when running as root (initdb and the server refuse root); throws with its output on failure.</summary>
    public static Task RunToolAsync(string tool, params string[] args) =>
        RunPgAsync(Environment.UserName == "root", Path.Combine(Binaries(), tool), args);

    private static Task RunPgAsync(bool asRoot, string exe, string[] args) =>
        asRoot ? RunAsync("runuser", ["-u", "postgres", "--", exe, .. args]) : RunAsync(exe, args);

    /// <summary>Runs a command and throws with its output when it fails.</summary>
    public static async Task RunAsync(string exe, params string[] args)
    {
        var psi = new ProcessStartInfo(exe)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = "/tmp",
        };
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }
        using var process = Process.Start(psi) ?? throw new InvalidOperationException($"Could not start {exe}");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{exe} {string.Join(' ', args)} failed ({process.ExitCode}): {await stderr} {await stdout}");
        }
    }
}
