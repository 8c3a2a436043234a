using System.Security.Cryptography;
using System.Text;
using OutboxSync.Testing;

namespace OutboxSync.System.Tests.Support;

/// <summary>An API token the stack accepts: its value (sent by clients) and the entry the API is configured with.</summary>
public sealed record StackToken(string Value, string ProjectId, string Name, bool Admin = false)
{
    public string Sha256 => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(Value)));
}

/// <summary>
/// The whole system as real processes, the way an operator runs it: the simulator, the API and two worker
/// replicas (with their clustered maintenance jobs on short intervals), the API and the workers connected as LOGIN
/// users of the restricted roles from migrations/009, never as the schema owner. Every process's stdout and
/// stderr is kept for log assertions.
/// </summary>
public sealed class RunningStack : IAsyncDisposable
{
    private readonly List<(string Name, ServiceProcess Process)> _processes = [];

    private RunningStack(TestDatabase database, DatabaseLogin apiLogin, DatabaseLogin workerLogin)
    {
        Database = database;
        ApiLogin = apiLogin;
        WorkerLogin = workerLogin;
    }

    /// <summary>The test database; its connection string is the owner's, for assertions only.</summary>
    public TestDatabase Database { get; }
    public DatabaseLogin ApiLogin { get; }
    public DatabaseLogin WorkerLogin { get; }
    public Uri ApiUrl { get; private set; } = null!;
    public Uri SimulatorUrl { get; private set; } = null!;
    public IReadOnlyList<(string Name, ServiceProcess Process)> Processes => _processes;

    public static async Task<RunningStack> StartAsync(IReadOnlyList<StackToken> tokens, string logLevel = "Warning", int workers = 2)
    {
        var database = await TestDatabase.CreateAsync();
        var stack = new RunningStack(database,
            await DatabaseLogin.CreateAsync(database, DatabaseLogin.ApiRole),
            await DatabaseLogin.CreateAsync(database, DatabaseLogin.WorkerRole));
        try
        {
            var simulator = await stack.StartAsync("simulator", "Simulator", new Dictionary<string, string>
            {
                ["Logging__LogLevel__Default"] = logLevel,
            }, "/healthz");
            stack.SimulatorUrl = new Uri(simulator.Url! + "/");

            var api = new Dictionary<string, string>
            {
                ["Database__ConnectionString"] = stack.ApiLogin.ConnectionString,
                ["Logging__LogLevel__Default"] = logLevel,
            };
            for (var i = 0; i < tokens.Count; i++)
            {
                api[$"Auth__Tokens__{i}__Sha256"] = tokens[i].Sha256;
                api[$"Auth__Tokens__{i}__ProjectId"] = tokens[i].ProjectId;
                api[$"Auth__Tokens__{i}__Name"] = tokens[i].Name;
                api[$"Auth__Tokens__{i}__Roles__0"] = tokens[i].Admin ? "admin" : "member";
            }
            stack.ApiUrl = new Uri((await stack.StartAsync("api", "Api", api, "/health/ready")).Url!);

            for (var i = 1; i <= workers; i++)
            {
                await stack.StartAsync($"worker-{i}", "Worker", new Dictionary<string, string>
                {
                    ["Database__ConnectionString"] = stack.WorkerLogin.ConnectionString,
                    ["Backend__BaseUrl"] = stack.SimulatorUrl.ToString(),
                    ["Worker__InstanceId"] = $"stack-worker-{i}",
                    ["Worker__PollInterval"] = "00:00:00.200",
                    ["Worker__ShutdownTimeout"] = "00:00:05",
                    ["Worker__Reconciliation__PollInterval"] = "00:00:01",
                    // Every maintenance job fires within seconds, so a test sees each one run under the worker role.
                    ["Worker__Maintenance__RetentionWindow"] = "00:00:01",
                    ["Worker__Maintenance__RetentionInterval"] = "00:00:01",
                    ["Worker__Maintenance__LeaseSweepInterval"] = "00:00:01",
                    ["Worker__Maintenance__StuckCheckInterval"] = "00:00:01",
                    ["Worker__Maintenance__ReconciliationInterval"] = "00:00:10",
                    ["Worker__Maintenance__ClusterCheckinInterval"] = "00:00:02",
                    ["Logging__LogLevel__Default"] = logLevel,
                }, "/health/ready");
            }
            return stack;
        }
        catch
        {
            await stack.DisposeAsync();
            throw;
        }
    }

    /// <summary>SIGTERM to every process, workers first, waiting for each to exit so its whole log is flushed.</summary>
    public async Task StopAsync()
    {
        foreach (var (name, process) in Enumerable.Reverse(_processes))
        {
            if (process.HasExited)
            {
                continue;
            }
            process.Signal(15);
            using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(60));
            try
            {
                await process.WaitForExitAsync(deadline.Token);
            }
            catch (OperationCanceledException)
            {
                throw new TimeoutException($"{name} did not stop within 60 s of SIGTERM:\n{process.Output}");
            }
        }
    }

    /// <summary>Every process's output, labelled, for failure messages.</summary>
    public string Logs() => string.Join("\n", _processes.Select(p => $"===== {p.Name}\n{p.Process.Output}"));

    public async ValueTask DisposeAsync()
    {
        foreach (var (_, process) in Enumerable.Reverse(_processes))
        {
            await process.DisposeAsync();
        }
        await Database.DisposeAsync();
        await ApiLogin.DisposeAsync();
        await WorkerLogin.DisposeAsync();
    }

    private async Task<ServiceProcess> StartAsync(string name, string project, Dictionary<string, string> environment, string healthPath)
    {
        var process = await ServiceProcess.StartAsync(project, environment, healthPath: healthPath);
        _processes.Add((name, process));
        return process;
    }
}
