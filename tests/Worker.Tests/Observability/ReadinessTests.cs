using System.Net;
using System.Text.Json.Nodes;
using Npgsql;
using OutboxSync.Migrations;
using OutboxSync.Worker.Tests.EndToEnd;
using OutboxSync.Worker.Tests.Support;

namespace OutboxSync.Worker.Tests.Observability;

/// <summary>
/// Health of the real API and worker processes against a PostgreSQL cluster of this class's own (the shared test
/// cluster is never stopped): readiness follows the database down and back up, liveness never does.
/// </summary>
[Collection(nameof(EndToEndCollection))]
public sealed class ReadinessTests : IAsyncLifetime
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(90);
    private PostgresServer _cluster = null!;
    private SimulatorProcess _sim = null!;
    private ApiProcess _api = null!;
    private ServiceProcess _worker = null!;
    private readonly HttpClient _probe = new() { Timeout = TimeSpan.FromSeconds(15) };

    public async Task InitializeAsync()
    {
        _cluster = await PostgresServer.StartDedicatedAsync();
        await using (var admin = new NpgsqlConnection(_cluster.AdminConnectionString))
        {
            await admin.OpenAsync();
            await using var create = new NpgsqlCommand("create database readiness", admin);
            await create.ExecuteNonQueryAsync();
        }
        var connectionString = new NpgsqlConnectionStringBuilder(_cluster.ConnectionStringFor("readiness"))
        {
            // Fail fast while the cluster is down instead of queueing on the pool.
            Timeout = 5,
        }.ConnectionString;
        await SchemaMigrator.ApplyAsync(connectionString);
        _sim = await SimulatorProcess.StartAsync();
        _api = await ApiProcess.StartAsync(connectionString);
        _worker = await WorkerProcess.StartAsync(connectionString, _sim.BaseUrl, "readiness-worker");
    }

    public async Task DisposeAsync()
    {
        _probe.Dispose();
        await _worker.DisposeAsync();
        await _api.DisposeAsync();
        await _sim.DisposeAsync();
        await _cluster.DisposeAsync();
    }

    [Fact]
    public async Task Readiness_fails_while_the_database_is_down_and_recovers_while_liveness_stays_up()
    {
        var services = new[] { ("api", _api.Process.Url!), ("worker", _worker.Url!) };
        foreach (var (name, url) in services)
        {
            var ready = await StatusAsync(url + "/health/ready");
            Assert.True(ready.Status == HttpStatusCode.OK, $"{name} not ready at start: {ready.Body}");
        }
        var workerChecks = JsonNode.Parse((await StatusAsync(_worker.Url + "/health/ready")).Body)!["checks"]!.AsObject();
        Assert.Equal("Healthy", workerChecks["drain"]!["status"]!.GetValue<string>());

        await _cluster.StopAsync();
        foreach (var (name, url) in services)
        {
            var down = await Eventually.WaitAsync(() => StatusAsync(url + "/health/ready"),
                r => r.Status == HttpStatusCode.ServiceUnavailable, Deadline, $"{name} not ready with the database down");
            Assert.Equal("Unhealthy", JsonNode.Parse(down.Body)!["checks"]!["database"]!["status"]!.GetValue<string>());
            Assert.Equal(HttpStatusCode.OK, (await StatusAsync(url + "/health/live")).Status);
        }
        // The worker's loop keeps turning (each pass fails fast), so only the database check fails.
        var drain = JsonNode.Parse((await StatusAsync(_worker.Url + "/health/ready")).Body)!["checks"]!["drain"]!;
        Assert.Equal("Healthy", drain["status"]!.GetValue<string>());

        await _cluster.StartAgainAsync();
        foreach (var (name, url) in services)
        {
            await Eventually.WaitAsync(() => StatusAsync(url + "/health/ready"),
                r => r.Status == HttpStatusCode.OK, Deadline, $"{name} ready again with the database back");
            Assert.Equal(HttpStatusCode.OK, (await StatusAsync(url + "/health/live")).Status);
        }
        Assert.False(_api.Process.HasExited || _worker.HasExited, "a process exited during the outage");
    }

    private async Task<(HttpStatusCode Status, string Body)> StatusAsync(string url)
    {
        using var response = await _probe.GetAsync(url);
        return (response.StatusCode, await response.Content.ReadAsStringAsync());
    }
}
