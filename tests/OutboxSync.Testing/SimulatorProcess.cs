using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace OutboxSync.Testing;

/// <summary>
/// The real back-end simulator (src/Simulator's build output) as a separate process on a loopback port, driven
/// over real HTTP, with helpers for its admin API (/_sim).
/// </summary>
public sealed class SimulatorProcess : IAsyncDisposable
{
    private readonly ServiceProcess _process;

    private SimulatorProcess(ServiceProcess process)
    {
        _process = process;
        BaseUrl = new Uri(process.Url! + "/");
        Admin = new HttpClient { BaseAddress = BaseUrl, Timeout = TimeSpan.FromSeconds(30) };
    }

    public Uri BaseUrl { get; }

    public HttpClient Admin { get; }

    /// <param name="address">The address it listens on (a test network's, for partition runs).</param>
    public static async Task<SimulatorProcess> StartAsync(string address = "127.0.0.1") =>
        new(await ServiceProcess.StartAsync("Simulator", new Dictionary<string, string>
        {
            ["Logging__LogLevel__Default"] = "Warning",
        }, healthPath: "/healthz", address: address));

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
            var page = await ReadPageAsync($"v1/{collection}?limit=200" + (marker is null ? "" : $"&marker={marker}"));
            foreach (var item in page["items"]!.AsArray())
            {
                all[Guid.Parse(item!["id"]!.GetValue<string>())] = (item["revision"]!.GetValue<long>(), item["attributes"]!.AsObject());
            }
            marker = page["next_marker"]?.GetValue<string>();
        }
        while (marker is not null);
        return all;
    }

    /// <summary>Reads a list page; the simulator's injected faults hit reads too, so an injected 503 is read again.</summary>
    private async Task<JsonObject> ReadPageAsync(string path)
    {
        for (var attempt = 1; ; attempt++)
        {
            using var response = await Admin.GetAsync(path);
            if (response.StatusCode == System.Net.HttpStatusCode.ServiceUnavailable && attempt < 20)
            {
                continue;
            }
            response.EnsureSuccessStatusCode();
            return (await response.Content.ReadFromJsonAsync<JsonObject>())!;
        }
    }

    public async Task<List<(Guid Router, Guid Port, long Revision)>> InterfacesAsync()
    {
        var all = new List<(Guid, Guid, long)>();
        string? marker = null;
        do
        {
            var page = await ReadPageAsync("v1/interfaces?limit=200" + (marker is null ? "" : $"&marker={marker}"));
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
        await _process.DisposeAsync();
    }
}
