using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace OutboxSync.Worker.Tests.Support;

/// <summary>
/// The real back-end simulator (src/Simulator) as a separate process on a loopback port, driven over real HTTP.
/// Found at $OUTBOXSYNC_SIMULATOR_DLL, else in src/Simulator's build output for the tests' configuration.
/// </summary>
public sealed class SimulatorProcess : IAsyncDisposable
{
    public const string DllVariable = "OUTBOXSYNC_SIMULATOR_DLL";

    private readonly Process _process;

    private SimulatorProcess(Process process, Uri baseUrl)
    {
        _process = process;
        BaseUrl = baseUrl;
        Admin = new HttpClient { BaseAddress = baseUrl, Timeout = TimeSpan.FromSeconds(30) };
    }

    public Uri BaseUrl { get; }

    public HttpClient Admin { get; }

    public static async Task<SimulatorProcess> StartAsync()
    {
        var dll = LocateDll();
        var port = FreePort();
        var url = new Uri($"http://127.0.0.1:{port}/");
        var psi = new ProcessStartInfo("dotnet")
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = Path.GetDirectoryName(dll)!,
        };
        psi.ArgumentList.Add(dll);
        psi.ArgumentList.Add("--urls");
        psi.ArgumentList.Add(url.ToString().TrimEnd('/'));
        psi.Environment["Logging__LogLevel__Default"] = "Warning";
        var process = Process.Start(psi) ?? throw new InvalidOperationException("could not start the simulator");
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var sim = new SimulatorProcess(process, url);
        await Eventually.WaitAsync(sim.IsUpAsync, up => up || process.HasExited, TimeSpan.FromSeconds(30), "simulator to answer /healthz");
        if (process.HasExited)
        {
            throw new InvalidOperationException($"simulator exited with {process.ExitCode}");
        }
        return sim;
    }

    public async Task SetFaultsAsync(object faults)
    {
        using var response = await Admin.PutAsJsonAsync("_sim/faults", faults);
        response.EnsureSuccessStatusCode();
    }

    public async Task<Dictionary<string, long>> ViolationsAsync() =>
        (await Admin.GetFromJsonAsync<Dictionary<string, long>>("_sim/violations"))!;

    /// <summary>Every object of a collection as id → (revision, attributes), read through the paged list API.</summary>
    public async Task<Dictionary<Guid, (long Revision, JsonObject Attributes)>> ListAsync(string collection)
    {
        var all = new Dictionary<Guid, (long, JsonObject)>();
        string? marker = null;
        do
        {
            var page = (await Admin.GetFromJsonAsync<JsonObject>($"v1/{collection}?limit=200" + (marker is null ? "" : $"&marker={marker}")))!;
            foreach (var item in page["items"]!.AsArray())
            {
                all[Guid.Parse(item!["id"]!.GetValue<string>())] = (item["revision"]!.GetValue<long>(), item["attributes"]!.AsObject());
            }
            marker = page["next_marker"]?.GetValue<string>();
        }
        while (marker is not null);
        return all;
    }

    public async Task<List<(Guid Router, Guid Port, long Revision)>> InterfacesAsync()
    {
        var all = new List<(Guid, Guid, long)>();
        string? marker = null;
        do
        {
            var page = (await Admin.GetFromJsonAsync<JsonObject>("v1/interfaces?limit=200" + (marker is null ? "" : $"&marker={marker}")))!;
            foreach (var item in page["items"]!.AsArray())
            {
                all.Add((Guid.Parse(item!["router_id"]!.GetValue<string>()), Guid.Parse(item["port_id"]!.GetValue<string>()), item["revision"]!.GetValue<long>()));
            }
            marker = page["next_marker"]?.GetValue<string>();
        }
        while (marker is not null);
        return all;
    }

    public async ValueTask DisposeAsync()
    {
        Admin.Dispose();
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }
        _process.Dispose();
    }

    private async Task<bool> IsUpAsync()
    {
        try
        {
            using var response = await Admin.GetAsync("healthz");
            return response.IsSuccessStatusCode;
        }
        catch (HttpRequestException)
        {
            return false;
        }
    }

    private static string LocateDll()
    {
        var fromEnv = Environment.GetEnvironmentVariable(DllVariable);
        if (!string.IsNullOrWhiteSpace(fromEnv))
        {
            return File.Exists(fromEnv) ? fromEnv : throw new FileNotFoundException($"{DllVariable} points at a missing file", fromEnv);
        }
        // tests/Worker.Tests/bin/<Configuration>/<tfm>/ → src/Simulator/bin/<Configuration>/<tfm>/
        var here = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));
        var tfm = here.Name;
        var configuration = here.Parent!.Name;
        var root = here;
        while (root is not null && !File.Exists(Path.Combine(root.FullName, "OutboxSync.sln")))
        {
            root = root.Parent;
        }
        if (root is null)
        {
            throw new DirectoryNotFoundException("repository root (OutboxSync.sln) not found above the test output");
        }
        var dll = Path.Combine(root.FullName, "src", "Simulator", "bin", configuration, tfm, "OutboxSync.Simulator.dll");
        return File.Exists(dll) ? dll : throw new FileNotFoundException($"simulator not built; build src/Simulator or set {DllVariable}", dll);
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
