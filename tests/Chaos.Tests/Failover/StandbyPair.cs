using System.Diagnostics;
using System.Globalization;
using Npgsql;

namespace OutboxSync.Chaos.Tests.Failover;

/// <summary>
/// A PostgreSQL primary and a streaming standby made from it with <c>pg_basebackup</c>, each its own cluster on its
/// own port, for failover runs. With <c>synchronous</c> the primary names the standby in
/// <c>synchronous_standby_names</c> (<c>synchronous_commit=on</c>): a commit returns only once the standby has
/// flushed it. Without, replication is asynchronous and a commit may be acknowledged that the standby never gets.
/// The primary is ended like a crashed host (SIGKILL to every one of its processes) and the standby promoted.
/// </summary>
public sealed class StandbyPair : IAsyncDisposable
{
    public const string StandbyName = "standby1";

    private readonly List<string> _roots = [];
    private readonly bool _asRoot = Environment.UserName == "root";

    private StandbyPair(bool synchronous)
    {
        Synchronous = synchronous;
    }

    public bool Synchronous { get; }

    public int PrimaryPort { get; private set; }
    public int StandbyPort { get; private set; }
    public string PrimaryData { get; private set; } = "";
    public string StandbyData { get; private set; } = "";

    public static async Task<StandbyPair> StartAsync(bool synchronous)
    {
        var pair = new StandbyPair(synchronous);
        try
        {
            await pair.StartPrimaryAsync();
            await pair.StartStandbyAsync();
            await pair.WaitForReplicationAsync();
            return pair;
        }
        catch
        {
            await pair.DisposeAsync();
            throw;
        }
    }

    /// <summary>Both servers, the primary first: Npgsql tries them in order and, with
    /// <c>Target Session Attributes=read-write</c>, uses whichever accepts writes — after a promotion, the standby.</summary>
    public string MultiHostConnectionString(string database, string applicationName) => new NpgsqlConnectionStringBuilder
    {
        Host = $"127.0.0.1:{PrimaryPort},127.0.0.1:{StandbyPort}",
        Username = "postgres",
        Database = database,
        ApplicationName = applicationName,
        TargetSessionAttributes = "read-write",
        // How long a host stays marked down or read-only before Npgsql asks it again (default 10 s).
        HostRecheckSeconds = 1,
        Timeout = 5,
    }.ConnectionString;

    /// <summary>A connection to one server only, unpooled (a probe must not keep sessions to a dead server).</summary>
    public NpgsqlConnection Open(int port, string database) => new(new NpgsqlConnectionStringBuilder
    {
        Host = "127.0.0.1",
        Port = port,
        Username = "postgres",
        Database = database,
        Pooling = false,
        Timeout = 5,
        ApplicationName = "failover-probe",
    }.ConnectionString);

    /// <summary>Ends the primary as a crashed host would: SIGKILL to its postmaster and every backend at once.</summary>
    public async Task KillPrimaryAsync()
    {
        var postmaster = int.Parse(File.ReadLines(Path.Combine(PrimaryData, "postmaster.pid")).First(), CultureInfo.InvariantCulture);
        var children = ChildrenOf(postmaster);
        Kill(postmaster);
        children.ForEach(Kill);
        var deadline = Stopwatch.StartNew();
        while (File.Exists($"/proc/{postmaster}") && deadline.Elapsed < TimeSpan.FromSeconds(10))
        {
            await Task.Delay(20);
        }
    }

    /// <summary>SIGSTOP to the primary's WAL sender: replication stalls as over a congested link, and what the
    /// primary writes meanwhile has not left it. An asynchronous primary keeps acknowledging commits; a synchronous
    /// one makes them wait for the standby. Killing the primary ends the stopped sender too.</summary>
    public void StallReplication()
    {
        var primary = int.Parse(File.ReadLines(Path.Combine(PrimaryData, "postmaster.pid")).First(), CultureInfo.InvariantCulture);
        foreach (var pid in ChildrenOf(primary).Where(pid => CommandLine(pid).Contains("walsender", StringComparison.Ordinal)))
        {
            Run("kill", "-STOP", pid.ToString(CultureInfo.InvariantCulture));
        }
    }

    /// <summary>
    /// <c>pg_ctl promote</c>: the standby ends recovery and accepts writes. Its configuration came from the primary by
    /// pg_basebackup, so it names itself in <c>synchronous_standby_names</c> and every commit would wait forever for a
    /// standby that does not exist: as a failover manager does when no synchronous candidate is left (Patroni's
    /// synchronous_mode without synchronous_mode_strict), the promoted server stops waiting for one.
    /// </summary>
    public async Task PromoteStandbyAsync()
    {
        await RunPgAsync("pg_ctl", "-D", StandbyData, "-w", "-t", "60", "promote");
        await using var promoted = Open(StandbyPort, "postgres");
        await promoted.OpenAsync();
        await using var release = new NpgsqlCommand("alter system set synchronous_standby_names = ''; select pg_reload_conf()", promoted);
        await release.ExecuteNonQueryAsync();
    }

    private async Task StartPrimaryAsync()
    {
        var root = NewRoot();
        PrimaryData = Path.Combine(root, "data");
        PrimaryPort = ServiceProcess.FreePort();
        await RunPgAsync("initdb", "-D", PrimaryData, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-sync");
        var settings = new List<string>
        {
            "listen_addresses = '127.0.0.1'", $"port = {PrimaryPort}", $"unix_socket_directories = '{root}'",
            "max_connections = 200", "wal_level = replica", "max_wal_senders = 4", "wal_keep_size = '256MB'",
            "fsync = off", "full_page_writes = on",
            Synchronous ? $"synchronous_standby_names = '{StandbyName}'" : "synchronous_standby_names = ''",
            "synchronous_commit = on",
        };
        await File.AppendAllLinesAsync(Path.Combine(PrimaryData, "postgresql.conf"), settings);
        await RunPgAsync("pg_ctl", "-D", PrimaryData, "-l", Path.Combine(root, "log"), "-w", "-t", "60", "start");
    }

    private async Task StartStandbyAsync()
    {
        var root = NewRoot();
        StandbyData = Path.Combine(root, "data");
        StandbyPort = ServiceProcess.FreePort();
        await RunPgAsync("pg_basebackup", "-h", "127.0.0.1", "-p", PrimaryPort.ToString(CultureInfo.InvariantCulture), "-U", "postgres",
            "-D", StandbyData, "-X", "stream", "-R", "--no-sync");
        // Later lines win: the standby's own port and socket, and the name the primary's synchronous_standby_names uses.
        await File.AppendAllLinesAsync(Path.Combine(StandbyData, "postgresql.auto.conf"),
        [
            $"port = {StandbyPort}", $"unix_socket_directories = '{root}'", "hot_standby = on",
            $"primary_conninfo = 'host=127.0.0.1 port={PrimaryPort} user=postgres application_name={StandbyName}'",
        ]);
        await RunPgAsync("pg_ctl", "-D", StandbyData, "-l", Path.Combine(root, "log"), "-w", "-t", "60", "start");
    }

    private async Task WaitForReplicationAsync()
    {
        await Eventually.HoldsAsync(async () =>
        {
            await using var primary = Open(PrimaryPort, "postgres");
            await primary.OpenAsync();
            await using var cmd = new NpgsqlCommand(
                "select count(*) from pg_stat_replication where application_name = @name and state = 'streaming' and sync_state = @sync", primary);
            cmd.Parameters.AddWithValue("name", StandbyName);
            cmd.Parameters.AddWithValue("sync", Synchronous ? "sync" : "async");
            return (long)(await cmd.ExecuteScalarAsync())! == 1;
        }, $"the standby streaming ({(Synchronous ? "sync" : "async")})", TimeSpan.FromSeconds(60));
    }

    private string NewRoot()
    {
        // The prefix PostgresServer's sweep knows: a killed test process's clusters are stopped by the next one.
        var root = Path.Combine(Path.GetTempPath(), $"outboxsync-pg-{Environment.ProcessId}-{Guid.NewGuid():N}"[..40]);
        Directory.CreateDirectory(root);
        if (_asRoot)
        {
            Run("chown", "postgres:postgres", root);
        }
        _roots.Add(root);
        return root;
    }

    private static List<int> ChildrenOf(int parent) => Directory.EnumerateDirectories("/proc")
        .Select(d => int.TryParse(Path.GetFileName(d), out var pid) ? pid : 0)
        .Where(pid => pid > 0 && ParentOf(pid) == parent)
        .ToList();

    private static string CommandLine(int pid)
    {
        try
        {
            return File.ReadAllText($"/proc/{pid}/cmdline").Replace('\0', ' ');
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return "";
        }
    }

    private static int ParentOf(int pid)
    {
        try
        {
            // /proc/PID/stat: "pid (comm) state ppid ..."; comm may hold spaces, so read after the last ')'.
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            return int.Parse(stat[(stat.LastIndexOf(')') + 2)..].Split(' ')[1], CultureInfo.InvariantCulture);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException)
        {
            return 0;
        }
    }

    private static void Kill(int pid) => Run("kill", "-9", pid.ToString(CultureInfo.InvariantCulture));

    private static Task RunPgAsync(string tool, params string[] args) => PostgresServer.RunToolAsync(tool, args);

    /// <summary>chown and kill: a kill of a process already gone is not an error.</summary>
    private static void Run(string exe, params string[] args)
    {
        try
        {
            PostgresServer.RunAsync(exe, args).GetAwaiter().GetResult();
        }
        catch (InvalidOperationException) when (exe == "kill")
        {
        }
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var data in new[] { StandbyData, PrimaryData }.Where(d => File.Exists(Path.Combine(d, "postmaster.pid"))))
        {
            try
            {
                await RunPgAsync("pg_ctl", "-D", data, "-m", "immediate", "-w", "-t", "10", "stop");
            }
            catch (InvalidOperationException)
            {
                // Not running (the killed primary).
            }
        }
        foreach (var root in _roots)
        {
            try
            {
                Directory.Delete(root, recursive: true);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
            }
        }
    }
}
