using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Npgsql;
using OutboxSync.Migrations;

namespace OutboxSync.Chaos.Tests.Stack;

/// <summary>
/// Everything the chaos run drives, as real OS processes: its own PostgreSQL cluster (it is restarted and its
/// sessions killed, so it cannot be the one other test classes share), a transaction-pooling PgBouncer, the
/// simulator, two API processes (one straight to PostgreSQL, one through PgBouncer) and three worker replicas
/// (the third through PgBouncer).
/// </summary>
public sealed class ChaosStack : IAsyncDisposable
{
    public const string Token = "chaos-admin-token-0123456789abcdef";
    public const string DatabaseName = "chaos";
    public const string ProjectId = "chaos-project";

    /// <summary>Prefix of the application_name of every worker session, so the run can find them to kill.</summary>
    public const string WorkerApplicationName = "chaos-worker";

    private PgBouncerProcess? _bouncer;
    private SimulatorProcess? _simulator;
    private ServiceProcess? _directApi;
    private ServiceProcess? _bouncedApi;
    private WorkerReplicas? _workers;

    private readonly string? _logDirectory;

    private ChaosStack(PostgresServer server, string? logDirectory)
    {
        Server = server;
        _logDirectory = logDirectory;
    }

    public PostgresServer Server { get; }

    public string ConnectionString => Server.ConnectionStringFor(DatabaseName);

    public SimulatorProcess Simulator => _simulator!;

    public PgBouncerProcess Bouncer => _bouncer!;

    public ServiceProcess DirectApi => _directApi!;

    public ServiceProcess BouncedApi => _bouncedApi!;

    public WorkerReplicas Workers => _workers!;

    /// <summary>A probe connection of the test itself: unpooled, so a server restart leaves no broken idle connections.</summary>
    public NpgsqlConnection OpenProbe(string database = DatabaseName) =>
        new(new NpgsqlConnectionStringBuilder(Server.ConnectionStringFor(database)) { Pooling = false, ApplicationName = "chaos-probe" }.ConnectionString);

    /// <param name="logDirectory">When set, every process's output is written there when the stack stops.</param>
    public static async Task<ChaosStack> StartAsync(Action<string> log, string? logDirectory)
    {
        var stack = new ChaosStack(await PostgresServer.StartDedicatedAsync(), logDirectory);
        try
        {
            await stack.StartProcessesAsync(log);
            return stack;
        }
        catch
        {
            await stack.DisposeAsync();
            throw;
        }
    }

    private async Task StartProcessesAsync(Action<string> log)
    {
        await using (var admin = OpenProbe("postgres"))
        {
            await admin.OpenAsync();
            await using var create = new NpgsqlCommand($"create database {DatabaseName}", admin);
            await create.ExecuteNonQueryAsync();
        }
        await SchemaMigrator.ApplyAsync(new NpgsqlConnectionStringBuilder(ConnectionString) { Pooling = false }.ConnectionString);
        log($"PostgreSQL {Server.Port} ({Server.DataDirectory}) migrated");

        _bouncer = await PgBouncerProcess.StartAsync(Server, serverPoolSize: 10);
        _simulator = await SimulatorProcess.StartAsync();
        _directApi = await StartApiAsync(ConnectionString, "chaos-api");
        _bouncedApi = await StartApiAsync(_bouncer.ConnectionStringFor(DatabaseName), "chaos-api-bounced");
        var slots = Enumerable.Range(1, ChaosSettings.Replicas).Select(n => new WorkerSlot(n, viaBouncer: n == ChaosSettings.Replicas)).ToList();
        _workers = new WorkerReplicas(slots, StartWorkerAsync);
        await _workers.StartAllAsync();
        log($"simulator {_simulator.BaseUrl}, PgBouncer {_bouncer.Port}, API {_directApi.Url} and {_bouncedApi.Url} (bounced), {slots.Count} workers");
    }

    private Task<ServiceProcess> StartApiAsync(string connectionString, string applicationName) =>
        ServiceProcess.StartAsync("Api", new Dictionary<string, string>
        {
            ["Database__ConnectionString"] = WithApplicationName(connectionString, applicationName),
            ["Auth__Tokens__0__Sha256"] = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(Token))),
            ["Auth__Tokens__0__ProjectId"] = ProjectId,
            ["Auth__Tokens__0__Roles__0"] = "admin",
            ["Auth__Tokens__0__Name"] = "chaos",
            ["Api__RateLimit__Enabled"] = "false",
            ["Logging__LogLevel__Default"] = "Warning",
        });

    private Task<ServiceProcess> StartWorkerAsync(WorkerSlot slot)
    {
        var applicationName = $"{WorkerApplicationName}-{slot.Number}";
        var environment = RunWorkerSettings.For(
            WithApplicationName(slot.ViaBouncer ? Bouncer.ConnectionStringFor(DatabaseName) : ConnectionString, applicationName),
            // LISTEN needs a real session, so it always goes straight to PostgreSQL.
            WithApplicationName(ConnectionString, applicationName),
            Simulator.BaseUrl, slot.InstanceId, ChaosSettings.AttemptTimeout, ChaosSettings.LeaseSafetyMargin);
        environment["Backend__RetryCount"] = "2";
        environment["Backend__RetryDelay"] = "00:00:00.100";
        environment["Worker__MaxInFlight"] = "16";
        // The pause check accounts for every lease, including the ones released just as the process stopped.
        environment["Logging__LogLevel__OutboxSync.Worker.Drain.DrainPass"] = "Debug";
        return ServiceProcess.StartAsync("Worker", environment, healthPath: "/health/ready");
    }

    private static string WithApplicationName(string connectionString, string applicationName) =>
        new NpgsqlConnectionStringBuilder(connectionString) { ApplicationName = applicationName }.ConnectionString;

    /// <summary>The APIs' logged 5xx failures: each "Unhandled failure" line with the exception line after it.</summary>
    public IEnumerable<string> ApiFailures()
    {
        foreach (var api in new[] { _directApi, _bouncedApi }.Where(a => a is not null))
        {
            var lines = api!.Output.Split('\n');
            for (var i = 0; i < lines.Length - 1; i++)
            {
                if (lines[i].Contains("Unhandled failure", StringComparison.Ordinal))
                {
                    yield return lines[i].Trim() + " -> " + lines[i + 1].Trim();
                }
            }
        }
    }

    private async Task WriteLogsAsync()
    {
        if (_logDirectory is null)
        {
            return;
        }
        Directory.CreateDirectory(_logDirectory);
        var processes = new List<(string Name, ServiceProcess? Process)> { ("api", _directApi), ("api-bounced", _bouncedApi) };
        processes.AddRange((_workers?.All ?? []).Select(w => (w.Name, (ServiceProcess?)w.Process)));
        foreach (var (name, process) in processes.Where(p => p.Process is not null))
        {
            await File.WriteAllTextAsync(Path.Combine(_logDirectory, name + ".log"), process!.Output);
        }
        await File.WriteAllLinesAsync(Path.Combine(_logDirectory, "worker-problems.log"), _workers?.Problems ?? []);
    }

    public async ValueTask DisposeAsync()
    {
        await WriteLogsAsync();
        if (_workers is not null)
        {
            await _workers.DisposeAsync();
        }
        foreach (var api in new[] { _directApi, _bouncedApi })
        {
            if (api is not null)
            {
                await api.DisposeAsync();
            }
        }
        if (_simulator is not null)
        {
            await _simulator.DisposeAsync();
        }
        if (_bouncer is not null)
        {
            await _bouncer.DisposeAsync();
        }
        await Server.DisposeAsync();
    }
}
