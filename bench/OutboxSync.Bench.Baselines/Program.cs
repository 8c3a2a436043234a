// The designs OutboxSync replaces, serving the subset of the Neutron contract the benchmark drives
// (POST /v2.0/networks, POST /v2.0/ports, PUT /v2.0/ports/{id}) against the same PostgreSQL and simulator.
//   --design inline | post-commit | global-lock | lock-table-unique | lock-table | hangfire
//   --lockWaitMs N           (lock-table designs: how long a request waits for a held lock; default 30000)
//   --role api | worker      (hangfire only: "worker" runs a Hangfire server and no API; "api" enqueues only)
//   Database:ConnectionString, Backend:BaseUrl via configuration (env Database__ConnectionString, Backend__BaseUrl)
using Hangfire;
using Hangfire.PostgreSql;
using Npgsql;
using OutboxSync.Bench.Baselines;

var builder = WebApplication.CreateBuilder(args);
builder.Logging.SetMinimumLevel(LogLevel.Warning);
var design = builder.Configuration["design"] ?? "inline";
var role = builder.Configuration["role"] ?? "api";
var connectionString = builder.Configuration["Database:ConnectionString"]
    ?? throw new InvalidOperationException("Database:ConnectionString is required");
var backendUrl = builder.Configuration["Backend:BaseUrl"] ?? throw new InvalidOperationException("Backend:BaseUrl is required");

builder.Services.AddSingleton(new DesignSettings(design, connectionString));
BaselineEndpoints.LockWait = TimeSpan.FromMilliseconds(int.Parse(builder.Configuration["lockWaitMs"] ?? "30000", System.Globalization.CultureInfo.InvariantCulture));
builder.Services.AddSingleton(NpgsqlDataSource.Create(connectionString));
builder.Services.AddHttpClient<DeviceClient>(c =>
    {
        c.BaseAddress = new Uri(backendUrl);
        c.Timeout = TimeSpan.FromSeconds(60);
    })
    .ConfigurePrimaryHttpMessageHandler(() => new SocketsHttpHandler { MaxConnectionsPerServer = 1024 });
builder.Services.AddSingleton<PortStore>();

if (design == "hangfire")
{
    // Configured as the Hangfire and Hangfire.PostgreSql READMEs show; transaction-scope enlistment is what lets
    // the enqueue commit atomically with the resource row (the "same transaction" requirement).
    builder.Services.AddHangfire(c => c
        .SetDataCompatibilityLevel(CompatibilityLevel.Version_180)
        .UseSimpleAssemblyNameTypeSerializer()
        .UseRecommendedSerializerSettings()
        .UsePostgreSqlStorage(o => o.UseNpgsqlConnection(connectionString + ";Enlist=true"),
            new PostgreSqlStorageOptions { EnableTransactionScopeEnlistment = true, PrepareSchemaIfNecessary = true }));
    builder.Services.AddTransient<DeviceJob>();
    if (role == "worker")
    {
        // Same concurrency per process as an OutboxSync replica's in-flight limit (32), so "ideal" is comparable.
        builder.Services.AddHangfireServer(o => o.WorkerCount = int.Parse(builder.Configuration["workers"] ?? "32"));
    }
}

var app = builder.Build();
await app.Services.GetRequiredService<PortStore>().EnsureSchemaAsync();
if (design == "hangfire")
{
    // Touch the storage so its schema exists before the first request.
    _ = app.Services.GetRequiredService<JobStorage>();
}
app.MapGet("/", () => Results.Ok(new { design, role }));
if (role == "api")
{
    BaselineEndpoints.Map(app, design);
}
app.Run();
