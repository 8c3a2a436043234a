using System.Diagnostics;
using Npgsql;

namespace OutboxSync.Testing;

/// <summary>
/// A throwaway PgBouncer in transaction pooling mode in front of the test PostgreSQL: every transaction may land
/// on a different server connection, so any reliance on session state (advisory locks, LISTEN, prepared
/// statements, SET) breaks. Runs as the postgres user when the tests run as root (PgBouncer refuses root).
/// </summary>
public sealed class PgBouncerProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly string _dir;

    private PgBouncerProcess(Process process, string dir, int port)
    {
        _process = process;
        _dir = dir;
        Port = port;
    }

    public int Port { get; }

    /// <summary>The connection string to <paramref name="database"/> through the bouncer.</summary>
    public string ConnectionStringFor(string database) => new NpgsqlConnectionStringBuilder
    {
        Host = "127.0.0.1",
        Port = Port,
        Database = database,
        Username = "postgres",
        // No DISCARD ALL on return: with transaction pooling the server connection is not ours anyway.
        NoResetOnClose = true,
        // PgBouncer 1.18 (Debian 12) cannot carry prepared statements across transaction-pooled server connections.
        MaxAutoPrepare = 0,
        MaxPoolSize = 50,
    }.ConnectionString;

    public static async Task<PgBouncerProcess> StartAsync(PostgresServer server, int serverPoolSize)
    {
        var exe = new[] { "/usr/sbin/pgbouncer", "/usr/bin/pgbouncer", "/usr/local/bin/pgbouncer" }.FirstOrDefault(File.Exists)
            ?? throw new FileNotFoundException("pgbouncer is not installed (apt-get install pgbouncer; .ci/run does it)");
        var dir = Path.Combine(Path.GetTempPath(), "outboxsync-pgb-" + Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(dir);
        var port = ServiceProcess.FreePort();
        var ini = Path.Combine(dir, "pgbouncer.ini");
        await File.WriteAllTextAsync(ini, $"""
            [databases]
            * = host=127.0.0.1 port={server.Port} user=postgres

            [pgbouncer]
            listen_addr = 127.0.0.1
            listen_port = {port}
            unix_socket_dir =
            auth_type = any
            server_login_retry = 1
            admin_users = postgres
            pool_mode = transaction
            default_pool_size = {serverPoolSize}
            max_client_conn = 500
            ignore_startup_parameters = extra_float_digits,search_path
            logfile = {Path.Combine(dir, "pgbouncer.log")}
            pidfile = {Path.Combine(dir, "pgbouncer.pid")}
            """);
        var asRoot = Environment.UserName == "root";
        var psi = new ProcessStartInfo(asRoot ? "runuser" : exe) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        if (asRoot)
        {
            using (var chown = Process.Start("chown", ["-R", "postgres:postgres", dir]))
            {
                await chown.WaitForExitAsync();
            }
            foreach (var a in new[] { "-u", "postgres", "--", exe })
            {
                psi.ArgumentList.Add(a);
            }
        }
        psi.ArgumentList.Add(ini);
        var process = Process.Start(psi) ?? throw new InvalidOperationException("could not start pgbouncer");
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var bouncer = new PgBouncerProcess(process, dir, port);
        await Eventually.WaitAsync(bouncer.AcceptsAsync, ok => ok || process.HasExited, TimeSpan.FromSeconds(20), "pgbouncer to accept connections");
        if (process.HasExited)
        {
            var log = Path.Combine(dir, "pgbouncer.log");
            throw new InvalidOperationException($"pgbouncer exited: {(File.Exists(log) ? await File.ReadAllTextAsync(log) : "(no log)")}");
        }
        return bouncer;
    }

    /// <summary>
    /// Transactions the bouncer has passed to <paramref name="database"/> since it started (SHOW STATS). The admin
    /// console speaks only the simple query protocol, so this goes through psql rather than Npgsql.
    /// </summary>
    public async Task<long> TransactionCountAsync(string database, string psql)
    {
        var psi = new ProcessStartInfo(psql) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { "-h", "127.0.0.1", "-p", Port.ToString(System.Globalization.CultureInfo.InvariantCulture), "-U", "postgres", "-d", "pgbouncer", "-tA", "-F", "|", "-c", "show stats" })
        {
            psi.ArgumentList.Add(a);
        }
        using var process = Process.Start(psi) ?? throw new InvalidOperationException("could not start psql");
        var output = await process.StandardOutput.ReadToEndAsync();
        await process.WaitForExitAsync();
        // Columns: database|total_xact_count|...
        return output.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(line => line.Split('|'))
            .Where(cols => cols.Length > 1 && cols[0] == database)
            .Sum(cols => long.Parse(cols[1], System.Globalization.CultureInfo.InvariantCulture));
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }
        _process.Dispose();
        try
        {
            Directory.Delete(_dir, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private async Task<bool> AcceptsAsync()
    {
        try
        {
            await using var conn = new NpgsqlConnection(ConnectionStringFor("postgres") + ";Pooling=false;Timeout=2");
            await conn.OpenAsync();
            return true;
        }
        catch (NpgsqlException)
        {
            return false;
        }
        catch (System.Net.Sockets.SocketException)
        {
            return false;
        }
    }
}
