namespace OutboxSync.Worker.Tests.Support;

/// <summary>The real worker process (src/Worker's build output) with fast test timings, its health and /metrics on a loopback port.</summary>
public static class WorkerProcess
{
    /// <param name="healthPath">Waited for at start; "/health/live" when the database may be down.</param>
    public static Task<ServiceProcess> StartAsync(string connectionString, Uri backend, string instanceId,
        IDictionary<string, string>? settings = null, string healthPath = "/health/ready")
    {
        var environment = new Dictionary<string, string>
        {
            ["Database__ConnectionString"] = connectionString,
            ["Backend__BaseUrl"] = backend.ToString(),
            ["Backend__RetryDelay"] = "00:00:00.050",
            ["Worker__InstanceId"] = instanceId,
            ["Worker__PollInterval"] = "00:00:00.200",
            ["Worker__Retry__BaseDelay"] = "00:00:00.100",
            ["Worker__Retry__MaxDelay"] = "00:00:01",
            ["Worker__Retry__OutageDelay"] = "00:00:00.200",
            ["Logging__LogLevel__Default"] = "Warning",
        };
        foreach (var (k, v) in settings ?? new Dictionary<string, string>())
        {
            environment[k] = v;
        }
        return ServiceProcess.StartAsync("Worker", environment, healthPath: healthPath);
    }
}
