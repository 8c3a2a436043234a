using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace OutboxSync.Testing;

/// <summary>
/// One of the project's executables (API, worker, simulator) run as a real OS process from its build output,
/// listening on loopback. Killed on dispose; its output is kept for assertions and failure messages.
/// </summary>
public sealed class ServiceProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly ConcurrentQueue<string> _output = new();

    private ServiceProcess(Process process, string? url)
    {
        _process = process;
        Url = url;
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) _output.Enqueue(e.Data); };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) _output.Enqueue(e.Data); };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
    }

    public string? Url { get; }
    public int Pid => _process.Id;
    public bool HasExited => _process.HasExited;
    public string Output => string.Join('\n', _output);

    /// <param name="project">Folder under src/, e.g. "Api"; its assembly is OutboxSync.{project}.dll.</param>
    /// <param name="networkNamespace">Run inside this network namespace (<c>ip netns exec</c>), as a host of its own.</param>
    /// <param name="address">The address it listens on: loopback unless it runs in a namespace with its own address.</param>
    public static async Task<ServiceProcess> StartAsync(string project, IDictionary<string, string> environment, bool listens = true,
        string? healthPath = "/", string? networkNamespace = null, string address = "127.0.0.1")
    {
        var dll = Path.Combine(RepositoryRoot(), "src", project, "bin", BuildConfiguration(), "net10.0", $"OutboxSync.{project}.dll");
        if (!File.Exists(dll))
        {
            throw new FileNotFoundException($"Build output missing: {dll}. Build the solution first.");
        }
        string? url = null;
        var psi = new ProcessStartInfo(networkNamespace is null ? "dotnet" : "ip") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        if (networkNamespace is not null)
        {
            // ip netns exec execs the command, so the process is dotnet itself (signals and kills reach it).
            foreach (var a in new[] { "netns", "exec", networkNamespace, "dotnet" })
            {
                psi.ArgumentList.Add(a);
            }
        }
        psi.ArgumentList.Add(dll);
        if (listens)
        {
            url = $"http://{address}:{FreePort()}";
            psi.ArgumentList.Add("--urls");
            psi.ArgumentList.Add(url);
        }
        psi.Environment["DOTNET_ENVIRONMENT"] = "Production";
        psi.Environment["ASPNETCORE_ENVIRONMENT"] = "Production";
        foreach (var (k, v) in environment)
        {
            psi.Environment[k] = v;
        }
        var service = new ServiceProcess(Process.Start(psi)!, url);
        if (url is not null && healthPath is not null)
        {
            try
            {
                await WaitUntilHealthyAsync(service, project, url + healthPath);
            }
            catch (TimeoutException e)
            {
                // The caller never gets the process, so it cannot clean it up; its output says why it never answered.
                await service.DisposeAsync();
                throw new TimeoutException($"{e.Message}\n{project} output (last lines):\n{string.Join('\n', service.Output.Split('\n').TakeLast(200))}", e);
            }
            catch
            {
                // The caller never gets the process, so it cannot clean it up.
                await service.DisposeAsync();
                throw;
            }
        }
        return service;
    }

    private static async Task WaitUntilHealthyAsync(ServiceProcess service, string project, string healthUrl)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        await Eventually.WaitAsync(async () =>
        {
            if (service.HasExited)
            {
                throw new InvalidOperationException($"{project} exited at start:\n{service.Output}");
            }
            try
            {
                return (await http.GetAsync(healthUrl)).IsSuccessStatusCode;
            }
            catch (HttpRequestException)
            {
                return false;
            }
            catch (TaskCanceledException)
            {
                return false;
            }
        }, ok => ok, TimeSpan.FromSeconds(60), $"{project} to answer at {healthUrl}");
    }

    public void Kill() => _process.Kill(entireProcessTree: true);

    /// <summary>Sends a Unix signal (SIGTERM 15, SIGSTOP 19, SIGCONT 18, SIGKILL 9).</summary>
    public void Signal(int signal)
    {
        using var kill = Process.Start("kill", $"-{signal} {_process.Id}");
        kill.WaitForExit();
    }

    public Task WaitForExitAsync(CancellationToken ct = default) => _process.WaitForExitAsync(ct);

    public async ValueTask DisposeAsync()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
                await _process.WaitForExitAsync();
            }
        }
        catch (InvalidOperationException)
        {
        }
        _process.Dispose();
    }

    public static string RepositoryRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "OutboxSync.sln")))
        {
            dir = dir.Parent;
        }
        return dir?.FullName ?? throw new InvalidOperationException("OutboxSync.sln not found above the test output.");
    }

    private static string BuildConfiguration() =>
        AppContext.BaseDirectory.Contains($"{Path.DirectorySeparatorChar}Release{Path.DirectorySeparatorChar}", StringComparison.Ordinal) ? "Release" : "Debug";

    private static readonly System.Collections.Concurrent.ConcurrentDictionary<int, bool> HandedOut = new();

    /// <summary>
    /// A loopback port nothing listens on, for a service this process is about to start. It is chosen below the
    /// kernel's ephemeral range: a port the kernel picks for port 0 comes from that range, where any process's
    /// outgoing connection may take it before the service binds it (a chaos run lost a worker that way: Kestrel
    /// could not bind while the run's connections churned). Below the range only explicit binds take ports. A port
    /// is handed out once per process.
    /// </summary>
    public static int FreePort()
    {
        var below = EphemeralLow();
        for (var attempt = 0; attempt < 500; attempt++)
        {
            var port = Random.Shared.Next(Math.Max(1024, below - 12000), below);
            if (!HandedOut.TryAdd(port, true))
            {
                continue;
            }
            try
            {
                using var listener = new TcpListener(IPAddress.Loopback, port);
                listener.Start();
                return port;
            }
            catch (SocketException)
            {
                // In use: try another.
            }
        }
        using var any = new TcpListener(IPAddress.Loopback, 0);
        any.Start();
        return ((IPEndPoint)any.LocalEndpoint).Port;
    }

    private static int EphemeralLow()
    {
        try
        {
            var range = File.ReadAllText("/proc/sys/net/ipv4/ip_local_port_range").Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
            return int.Parse(range[0], System.Globalization.CultureInfo.InvariantCulture);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException or IndexOutOfRangeException)
        {
            return 32768; // Linux's default low end
        }
    }
}
