using System.Diagnostics;
using System.Text;
using System.Text.Json.Nodes;
using OutboxSync.System.Tests.Support;
using OutboxSync.Testing;
using Xunit;

namespace OutboxSync.System.Tests;

/// <summary>
/// The README's first command as a newcomer meets it: <c>scripts/run.sh</c> names every process only once each
/// answers, stops everything on SIGTERM within 10 s, and cleans up after a run that was killed hard. Each test runs
/// the real script with its own run directory (its own throwaway PostgreSQL) and the existing build.
/// </summary>
[Collection(nameof(Support.WholeStackCollection))]
public sealed class RunScriptTests
{
    private static readonly TimeSpan StartDeadline = TimeSpan.FromMinutes(3);

    [Fact]
    public async Task Endpoints_appear_only_once_every_process_answers_and_SIGTERM_stops_everything_within_10_s()
    {
        await using var run = new RunDirectory();
        var script = run.Start();
        var endpoints = await run.WaitForEndpointsAsync(script);

        // Read at once, as a script would: every address it names answers on the first try.
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        var processes = endpoints["processes"]!;
        var workers = processes["workers"]!.AsArray();
        Assert.Single(workers);
        var urls = new List<string>
        {
            processes["api"]!["health"]!.GetValue<string>(), processes["api"]!["metrics"]!.GetValue<string>(),
            processes["simulator"]!["health"]!.GetValue<string>(), endpoints["api"]!.GetValue<string>() + "/",
        };
        urls.AddRange(workers.SelectMany(w => new[] { w!["health"]!.GetValue<string>(), w["metrics"]!.GetValue<string>() }));
        foreach (var url in urls)
        {
            using var response = await http.GetAsync(url);
            Assert.True(response.IsSuccessStatusCode, $"{url} answered {(int)response.StatusCode}");
        }
        var children = run.ChildPids();
        Assert.Equal(3, children.Count); // simulator, API, one worker
        var postgres = run.PostgresPid();
        Assert.NotNull(postgres);

        var stopping = Stopwatch.StartNew();
        RunDirectory.Signal(script.Id, "TERM");
        Assert.True(await RunDirectory.ExitsWithinAsync(script, TimeSpan.FromSeconds(10)), $"still running after 10 s\n{run.Output}");
        Assert.True(stopping.Elapsed < TimeSpan.FromSeconds(10));

        Assert.All(children, pid => Assert.False(RunDirectory.IsAlive(pid), $"process {pid} outlived the script"));
        Assert.False(RunDirectory.IsAlive(postgres.Value), "PostgreSQL outlived the script");
        Assert.False(File.Exists(run.EndpointsFile), "endpoints.json names processes that are gone");
    }

    [Fact]
    public async Task A_run_killed_hard_leaves_nothing_that_stops_the_next_run()
    {
        await using var run = new RunDirectory();
        List<int> orphans;
        int orphanedPostgres;
        var killed = run.Start();
        await run.WaitForEndpointsAsync(killed);
        orphans = run.ChildPids();
        orphanedPostgres = run.PostgresPid() ?? throw new InvalidOperationException("no postmaster.pid");
        RunDirectory.Signal(killed.Id, "KILL"); // no cleanup runs: its services and PostgreSQL keep running
        Assert.True(await RunDirectory.ExitsWithinAsync(killed, TimeSpan.FromSeconds(10)));
        Assert.All(orphans, pid => Assert.True(RunDirectory.IsAlive(pid), $"process {pid} died with the script; nothing to clean up"));
        Assert.True(RunDirectory.IsAlive(orphanedPostgres));
        File.Delete(run.EndpointsFile); // so the wait below sees the next run's file

        var next = run.Start();
        var endpoints = await run.WaitForEndpointsAsync(next);

        Assert.All(orphans, pid => Assert.False(RunDirectory.IsAlive(pid), $"the killed run's process {pid} is still running"));
        Assert.False(RunDirectory.IsAlive(orphanedPostgres), "the killed run's PostgreSQL is still running");
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        using var ready = await http.GetAsync(endpoints["processes"]!["api"]!["health"]!.GetValue<string>());
        Assert.True(ready.IsSuccessStatusCode);
        RunDirectory.Signal(next.Id, "TERM");
        Assert.True(await RunDirectory.ExitsWithinAsync(next, TimeSpan.FromSeconds(10)), run.Output);
    }

    [Fact]
    public async Task With_keystone_the_cli_logs_in_by_password_finds_the_api_in_the_catalog_and_SIGTERM_stops_keystone_too()
    {
        await using var run = new RunDirectory();
        var script = run.Start("--keystone");
        var endpoints = await run.WaitForEndpointsAsync(script);

        var keystone = endpoints["keystone"]!;
        var authUrl = keystone["auth_url"]!.GetValue<string>();
        string[] Auth(string key)
        {
            var user = keystone["users"]![key]!;
            Assert.Equal("Default", user["user_domain_name"]!.GetValue<string>());
            return OpenStackCli.PasswordAuth(authUrl, user["username"]!.GetValue<string>(), user["password"]!.GetValue<string>(),
                user["project_name"]!.GetValue<string>());
        }
        var name = "run-" + Guid.NewGuid().ToString("N")[..8];
        var created = await OpenStackCli.RunAsync(Auth("project1"), "network", "create", name, "-f", "json");
        Assert.True(created.ExitCode == 0, created.Stderr + run.Output);
        var seenBy2 = await OpenStackCli.RunAsync(Auth("project2"), "network", "list", "-f", "value", "-c", "Name");
        Assert.True(seenBy2.ExitCode == 0, seenBy2.Stderr);
        Assert.DoesNotContain(name, seenBy2.Stdout, StringComparison.Ordinal);
        var seenByAdmin = await OpenStackCli.RunAsync(Auth("admin"), "network", "list", "-f", "value", "-c", "Name");
        Assert.Contains(name, seenByAdmin.Stdout, StringComparison.Ordinal);

        var uwsgi = JsonNode.Parse(await File.ReadAllTextAsync(global::System.IO.Path.Combine(run.Path, "keystone.json")))!["uwsgi_pgid"]!.GetValue<int>();
        Assert.True(RunDirectory.IsAlive(uwsgi));
        RunDirectory.Signal(script.Id, "TERM");
        Assert.True(await RunDirectory.ExitsWithinAsync(script, TimeSpan.FromSeconds(10)), $"still running after 10 s\n{run.Output}");
        await Eventually.HoldsAsync(() => Task.FromResult(!RunDirectory.IsAlive(uwsgi)), "Keystone's uwsgi has stopped", TimeSpan.FromSeconds(5));
    }

    /// <summary>A run directory of its own (OUTBOXSYNC_RUN_DIR) and the scripts started on it, which it owns;
    /// disposing stops every process left and deletes the directory.</summary>
    private sealed class RunDirectory : IAsyncDisposable
    {
        private readonly StringBuilder _output = new();
        private readonly List<Process> _scripts = [];

        // Not a mkdtemp directory (mode 0700): PostgreSQL runs as its own user and must reach its data directory.
        public string Path { get; } = global::System.IO.Path.Combine(global::System.IO.Path.GetTempPath(), $"outboxsync-run-{Guid.NewGuid():N}");

        public string EndpointsFile => global::System.IO.Path.Combine(Path, "endpoints.json");

        public string Output
        {
            get
            {
                lock (_output)
                {
                    return _output.ToString();
                }
            }
        }

        public Process Start(params string[] options)
        {
            Directory.CreateDirectory(Path);
            var root = RepositoryRoot();
            var info = new ProcessStartInfo("bash", [global::System.IO.Path.Combine(root, "scripts", "run.sh"), "--no-demo", .. options])
            {
                WorkingDirectory = root,
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                RedirectStandardInput = true,
            };
            info.Environment["OUTBOXSYNC_RUN_DIR"] = Path;
            info.Environment["OUTBOXSYNC_WORKERS"] = "1";
            info.Environment["OUTBOXSYNC_SKIP_BUILD"] = "1";
            info.Environment["OUTBOXSYNC_CONFIGURATION"] = AppContext.BaseDirectory.Contains("/Release/", StringComparison.Ordinal) ? "Release" : "Debug";
            info.Environment["SIM_LATENCY_MIN_MS"] = "1";
            info.Environment["SIM_LATENCY_MAX_MS"] = "5";
            info.Environment.Remove("OUTBOXSYNC_DATABASE");
            var process = Process.Start(info)!;
            process.OutputDataReceived += (_, e) => Append(e.Data);
            process.ErrorDataReceived += (_, e) => Append(e.Data);
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
            _scripts.Add(process);
            return process;
        }

        public async Task<JsonNode> WaitForEndpointsAsync(Process script)
        {
            var deadline = DateTime.UtcNow + StartDeadline;
            while (!File.Exists(EndpointsFile))
            {
                if (script.HasExited)
                {
                    Assert.Fail($"run.sh exited ({script.ExitCode}) before writing endpoints.json\n{Output}");
                }
                Assert.True(DateTime.UtcNow < deadline, $"no endpoints.json after {StartDeadline}\n{Output}");
                await Task.WhenAny(script.WaitForExitAsync(), Task.Delay(100));
            }
            return JsonNode.Parse(await File.ReadAllTextAsync(EndpointsFile))!;
        }

        public List<int> ChildPids()
        {
            var file = global::System.IO.Path.Combine(Path, "pids");
            return File.Exists(file) ? File.ReadAllLines(file).Where(l => l.Length > 0).Select(int.Parse).ToList() : [];
        }

        public int? PostgresPid()
        {
            var file = global::System.IO.Path.Combine(Path, "pg", "data", "postmaster.pid");
            try
            {
                return File.Exists(file) ? int.Parse(File.ReadLines(file).First(), global::System.Globalization.CultureInfo.InvariantCulture) : null;
            }
            catch (IOException)
            {
                return null;
            }
        }

        public static void Signal(int pid, string signal)
        {
            using var kill = Process.Start("kill", [$"-{signal}", pid.ToString(global::System.Globalization.CultureInfo.InvariantCulture)])!;
            kill.WaitForExit();
        }

        public static async Task<bool> ExitsWithinAsync(Process process, TimeSpan limit)
        {
            using var timeout = new CancellationTokenSource(limit);
            try
            {
                await process.WaitForExitAsync(timeout.Token);
                return true;
            }
            catch (OperationCanceledException)
            {
                return false;
            }
        }

        /// <summary>Running (a zombie, or a pid reused by something else, does not count).</summary>
        public static bool IsAlive(int pid)
        {
            try
            {
                var status = File.ReadAllText($"/proc/{pid}/status");
                return !status.Contains("State:\tZ", StringComparison.Ordinal);
            }
            catch (IOException)
            {
                return false;
            }
            catch (UnauthorizedAccessException)
            {
                return false;
            }
        }

        public async ValueTask DisposeAsync()
        {
            foreach (var script in _scripts.Where(s => !s.HasExited))
            {
                Signal(script.Id, "TERM");
                if (!await ExitsWithinAsync(script, TimeSpan.FromSeconds(15)))
                {
                    script.Kill(entireProcessTree: true);
                }
            }
            foreach (var pid in ChildPids().Where(IsAlive))
            {
                Signal(pid, "KILL");
            }
            if (PostgresPid() is { } postgres && IsAlive(postgres))
            {
                Signal(postgres, "QUIT"); // immediate shutdown of the postmaster and its backends
            }
            foreach (var script in _scripts)
            {
                script.Dispose();
            }
            try
            {
                Directory.Delete(Path, recursive: true);
            }
            catch (IOException)
            {
                // A backend still exiting may hold a file a moment longer; the directory is under /tmp.
            }
        }

        private void Append(string? line)
        {
            if (line is null)
            {
                return;
            }
            lock (_output)
            {
                _output.AppendLine(line);
            }
        }

        private static string RepositoryRoot()
        {
            var dir = new DirectoryInfo(AppContext.BaseDirectory);
            while (dir is not null && !File.Exists(global::System.IO.Path.Combine(dir.FullName, "OutboxSync.sln")))
            {
                dir = dir.Parent;
            }
            return dir?.FullName ?? throw new InvalidOperationException("OutboxSync.sln not found above " + AppContext.BaseDirectory);
        }
    }
}
