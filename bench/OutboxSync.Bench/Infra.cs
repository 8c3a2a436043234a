using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text.RegularExpressions;
using Npgsql;
using OutboxSync.Testing;

namespace OutboxSync.Bench;

/// <summary>A throwaway PostgreSQL cluster from the installed binaries (as the postgres user when root), free port, stopped at the end.</summary>
public sealed class Postgres : IAsyncDisposable
{
    private readonly string _root;
    private readonly bool _asRoot = Environment.UserName == "root";
    public string BinDir { get; }
    public int Port { get; }
    public string Version { get; private set; } = "";
    /// <param name="pool">Npgsql's Maximum Pool Size; null leaves it to the service (the worker's shipped default).</param>
    public string ConnectionString(string db = "outboxsync", int? pool = 200) =>
        $"Host=127.0.0.1;Port={Port};Username=postgres;Database={db};{(pool is { } p ? $"Maximum Pool Size={p};" : "")}Timeout=30;Command Timeout=600";

    private Postgres(string bin, string root, int port) { BinDir = bin; _root = root; Port = port; }

    public static async Task<Postgres> StartAsync()
    {
        var bin = Directory.Exists("/usr/lib/postgresql")
            ? Directory.GetDirectories("/usr/lib/postgresql").OrderDescending().Select(d => Path.Combine(d, "bin")).First(d => File.Exists(Path.Combine(d, "initdb")))
            : throw new InvalidOperationException("PostgreSQL binaries not found under /usr/lib/postgresql");
        // Clusters of harness runs that were killed (the smoke test kills one on its deadline).
        await AbandonedClusters.SweepAsync(Prefix, dataDir => new Postgres(bin, Path.GetDirectoryName(dataDir)!, 0)
            .RunPgAsync("pg_ctl", ["-D", dataDir, "-m", "immediate", "stop"]));
        var root = Path.Combine(Path.GetTempPath(), $"{Prefix}{Environment.ProcessId}");
        if (Directory.Exists(root)) Directory.Delete(root, true);
        Directory.CreateDirectory(root);
        var pg = new Postgres(bin, root, Net.FreePort());
        if (pg._asRoot) await Shell.RunAsync("chown", ["postgres:postgres", root]);
        await pg.RunPgAsync("initdb", ["-D", Path.Combine(root, "data"), "-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-sync"]);
        // Durable defaults (fsync on, synchronous_commit on): the commit rate pgbench measures is a real limit.
        var opts = $"-p {pg.Port} -k {root} -c listen_addresses=127.0.0.1 -c max_connections=500 -c shared_buffers=256MB " +
                   "-c shared_preload_libraries=pg_stat_statements";
        await pg.RunPgAsync("pg_ctl", ["-D", Path.Combine(root, "data"), "-o", opts, "-l", Path.Combine(root, "log"), "-w", "-t", "60", "start"]);
        await using (var c = new NpgsqlConnection(pg.ConnectionString("postgres")))
        {
            await c.OpenAsync();
            await new NpgsqlCommand("create database outboxsync", c).ExecuteNonQueryAsync();
            pg.Version = (string)(await new NpgsqlCommand("show server_version", c).ExecuteScalarAsync())!;
        }
        await pg.ExecAsync("create extension if not exists pg_stat_statements");
        return pg;
    }

    private const string Prefix = "outboxsync-bench-pg-";

    public async Task ExecAsync(string sql, int timeoutSeconds = 600)
    {
        await using var c = new NpgsqlConnection(ConnectionString(pool: 5));
        await c.OpenAsync();
        await using var cmd = new NpgsqlCommand(sql, c) { CommandTimeout = timeoutSeconds };
        await cmd.ExecuteNonQueryAsync();
    }

    public async Task<T> ScalarAsync<T>(string sql)
    {
        await using var c = new NpgsqlConnection(ConnectionString(pool: 5));
        await c.OpenAsync();
        await using var cmd = new NpgsqlCommand(sql, c);
        var v = await cmd.ExecuteScalarAsync();
        return (T)Convert.ChangeType(v!, typeof(T));
    }

    /// <summary>pgbench with a single-row insert per transaction; returns transactions per second.</summary>
    public async Task<double> PgbenchInsertTpsAsync(int clients, int seconds)
    {
        await ExecAsync("create table if not exists bench_insert (id bigserial primary key, v int not null, at timestamptz not null default now())");
        var script = Path.Combine(Path.GetTempPath(), $"bench-insert-{Environment.ProcessId}.sql");
        await File.WriteAllTextAsync(script, "insert into bench_insert (v) values (1);\n");
        var output = await Shell.RunAsync(Path.Combine(BinDir, "pgbench"),
            ["-n", "-c", clients.ToString(), "-j", "2", "-T", seconds.ToString(), "-f", script, "-h", "127.0.0.1", "-p", Port.ToString(), "-U", "postgres", "outboxsync"]);
        var m = Regex.Match(output, @"tps = ([0-9.]+)");
        return m.Success ? double.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture) : throw new InvalidOperationException("pgbench: " + output);
    }

    /// <summary>
    /// pgbench running a script file (<c>-M prepared</c>, <c>-j 2</c>) against the bench database; returns transactions
    /// per second. T1 runs bench/accept-floor.pgbench.sql, the accept transaction's own statements.
    /// </summary>
    /// <param name="variables">Script variables (pgbench -D name=value).</param>
    public async Task<double> PgbenchScriptTpsAsync(string script, int clients, int seconds, params (string Name, string Value)[] variables)
    {
        if (!File.Exists(script)) throw new FileNotFoundException($"pgbench script missing: {script}");
        var output = await Shell.RunAsync(Path.Combine(BinDir, "pgbench"),
            ["-n", "-c", clients.ToString(), "-j", "2", "-T", seconds.ToString(), "-M", "prepared", "-f", script,
             .. variables.SelectMany(v => new[] { "-D", $"{v.Name}={v.Value}" }),
             "-h", "127.0.0.1", "-p", Port.ToString(), "-U", "postgres", "outboxsync"]);
        var m = Regex.Match(output, @"tps = ([0-9.]+)");
        return m.Success ? double.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture) : throw new InvalidOperationException("pgbench: " + output);
    }

    /// <summary>
    /// CPU seconds of the whole cluster: the postmaster, every live backend and auxiliary process it started, and
    /// the children it has already reaped (the postmaster's cutime/cstime), so a connection that closes inside a
    /// window still counts.
    /// </summary>
    public double CpuSeconds()
    {
        var pidFile = Path.Combine(_root, "data", "postmaster.pid");
        if (!File.Exists(pidFile) || !int.TryParse(File.ReadLines(pidFile).First(), out var postmaster)) return 0;
        var total = 0.0;
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out var pid)) continue;
            var stat = ProcStat.Read(pid);
            if (stat is null) continue;
            if (pid == postmaster) total += stat.Value.OwnSeconds + stat.Value.ReapedChildrenSeconds;
            else if (stat.Value.ParentPid == postmaster) total += stat.Value.OwnSeconds;
        }
        return total;
    }

    /// <summary>The server log (pg_ctl -l): every ERROR, e.g. a unique violation, is written there with its constraint's name.</summary>
    public string LogPath => Path.Combine(_root, "log");

    /// <summary>Current length of the server log, to count from (<see cref="CountLogLines"/>).</summary>
    public long LogLength() => File.Exists(LogPath) ? new FileInfo(LogPath).Length : 0;

    /// <summary>Lines of the server log written after <paramref name="from"/> that contain every one of <paramref name="parts"/>.</summary>
    public long CountLogLines(long from, params string[] parts)
    {
        using var f = new FileStream(LogPath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        f.Seek(Math.Min(from, f.Length), SeekOrigin.Begin);
        using var r = new StreamReader(f);
        long n = 0;
        while (r.ReadLine() is { } line)
        {
            if (parts.All(p => line.Contains(p, StringComparison.Ordinal))) n++;
        }
        return n;
    }

    private Task<string> RunPgAsync(string exe, string[] args) =>
        _asRoot ? Shell.RunAsync("runuser", ["-u", "postgres", "--", Path.Combine(BinDir, exe), .. args]) : Shell.RunAsync(Path.Combine(BinDir, exe), args);

    public async ValueTask DisposeAsync()
    {
        try { await RunPgAsync("pg_ctl", ["-D", Path.Combine(_root, "data"), "-m", "immediate", "-w", "stop"]); } catch (InvalidOperationException) { }
        try { Directory.Delete(_root, true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}

/// <summary>Fields of /proc/PID/stat, and the whole machine's busy and total CPU from /proc/stat.</summary>
public static class ProcStat
{
    private const double TicksPerSecond = 100.0;

    public static (int ParentPid, double OwnSeconds, double ReapedChildrenSeconds)? Read(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            // After the command: field 3 is state, so ppid (4) is at index 1, utime/stime (14, 15) at 11 and 12 and
            // cutime/cstime (16, 17) at 13 and 14.
            var f = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            return (int.Parse(f[1]), (double.Parse(f[11]) + double.Parse(f[12])) / TicksPerSecond,
                (double.Parse(f[13]) + double.Parse(f[14])) / TicksPerSecond);
        }
        catch (IOException) { return null; }
    }

    /// <summary>CPU seconds the machine spent busy and in total (every core) since boot; idle and iowait are not busy.</summary>
    public static (double BusySeconds, double TotalSeconds) Machine()
    {
        var f = File.ReadLines("/proc/stat").First().Split(' ', StringSplitOptions.RemoveEmptyEntries).Skip(1).Select(double.Parse).ToArray();
        // user nice system idle iowait irq softirq steal (guest time is already inside user).
        var total = f.Take(8).Sum();
        return ((total - f[3] - f[4]) / TicksPerSecond, total / TicksPerSecond);
    }
}

public static class Shell
{
    public static async Task<string> RunAsync(string exe, string[] args)
    {
        var psi = new ProcessStartInfo(exe) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false, WorkingDirectory = "/tmp" };
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi) ?? throw new InvalidOperationException($"could not start {exe}");
        var o = p.StandardOutput.ReadToEndAsync();
        var e = p.StandardError.ReadToEndAsync();
        await p.WaitForExitAsync();
        if (p.ExitCode != 0) throw new InvalidOperationException($"{exe} {string.Join(' ', args)} failed ({p.ExitCode}): {await e} {await o}");
        return await o + await e;
    }
}

public static class Net
{
    public static int FreePort()
    {
        using var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        return ((IPEndPoint)l.LocalEndpoint).Port;
    }
}

/// <summary>One service run as a real process from its Release build output (dotnet &lt;dll&gt;), killed on dispose.</summary>
public sealed class Service : IAsyncDisposable
{
    private readonly Process _p;
    private readonly ConcurrentQueue<string> _tail = new();
    public string Name { get; }
    public string? Url { get; }
    public int Pid => _p.Id;
    public bool HasExited => _p.HasExited;

    private Service(string name, Process p, string? url)
    {
        Name = name; _p = p; Url = url;
        void Keep(string? line)
        {
            if (line is null) return;
            _tail.Enqueue(line);
            while (_tail.Count > 200) _tail.TryDequeue(out _);
        }
        p.OutputDataReceived += (_, e) => Keep(e.Data);
        p.ErrorDataReceived += (_, e) => Keep(e.Data);
        p.BeginOutputReadLine();
        p.BeginErrorReadLine();
    }

    public string Tail => string.Join('\n', _tail.TakeLast(40));

    public static async Task<Service> StartAsync(string name, string dll, IDictionary<string, string> env, IEnumerable<string>? args = null, bool listens = true, string health = "/")
    {
        if (!File.Exists(dll)) throw new FileNotFoundException($"Build output missing: {dll}. Build Release first (dotnet build -c Release).");
        var psi = new ProcessStartInfo("dotnet") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        psi.ArgumentList.Add(dll);
        string? url = null;
        if (listens)
        {
            url = $"http://127.0.0.1:{Net.FreePort()}";
            psi.ArgumentList.Add("--urls");
            psi.ArgumentList.Add(url);
        }
        foreach (var a in args ?? []) psi.ArgumentList.Add(a);
        psi.Environment["DOTNET_ENVIRONMENT"] = "Production";
        psi.Environment["ASPNETCORE_ENVIRONMENT"] = "Production";
        psi.Environment["Logging__LogLevel__Default"] = "Warning";
        foreach (var (k, v) in env) psi.Environment[k] = v;
        var s = new Service(name, Process.Start(psi)!, url);
        if (url is not null)
        {
            using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
            var deadline = DateTime.UtcNow.AddSeconds(60);
            while (true)
            {
                if (s.HasExited) throw new InvalidOperationException($"{name} exited at start:\n{s.Tail}");
                try { if ((await http.GetAsync(url + health)).IsSuccessStatusCode) break; }
                catch (HttpRequestException) { }
                catch (TaskCanceledException) { }
                if (DateTime.UtcNow > deadline) throw new TimeoutException($"{name} did not answer at {url}:\n{s.Tail}");
                await Task.Delay(100);
            }
        }
        return s;
    }

    /// <summary>Peak resident set (VmHWM, MiB) and CPU seconds (utime + stime) from /proc.</summary>
    public (double PeakRssMiB, double CpuSeconds) Sample()
    {
        try
        {
            var status = File.ReadAllLines($"/proc/{Pid}/status");
            var hwm = status.FirstOrDefault(l => l.StartsWith("VmHWM:"));
            var kb = hwm is null ? 0 : double.Parse(Regex.Match(hwm, @"\d+").Value);
            var stat = File.ReadAllText($"/proc/{Pid}/stat");
            var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            // After the command: field 3 is state, so utime (14) and stime (15) are at index 11 and 12.
            var ticks = double.Parse(fields[11]) + double.Parse(fields[12]);
            return (kb / 1024.0, ticks / 100.0);
        }
        catch (IOException) { return (0, 0); }
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            if (!_p.HasExited)
            {
                _p.Kill(entireProcessTree: true);
                await _p.WaitForExitAsync();
            }
        }
        catch (InvalidOperationException) { }
        _p.Dispose();
    }
}
