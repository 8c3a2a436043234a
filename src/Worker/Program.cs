using OutboxSync.Hosting;
using OutboxSync.Worker;
using OutboxSync.Worker.Maintenance;

// The outbox drain: claims resources with due entries under per-resource leases and applies them to the back end.
//   Drain/      the loop, one pass, one resource under its lease, lease heartbeat, LISTEN wake-ups
//   Ordering/   which entry may go next (parents before children) and what to send (coalescing)
//   Backend/    the typed HTTP client and its resilience pipeline
//   Retry/      persisted backoff and the attempt budget
//   Maintenance/ clustered Quartz jobs (retention, lease sweep, stuck work, scheduled reconciliation), queue gauges,
//                and reconciliation runs (database vs back end, both ways)
var builder = WebApplication.CreateBuilder(args);
builder.AddServiceDefaults("outboxsync-worker");
if (string.IsNullOrEmpty(builder.Configuration["urls"]))
{
    // Health endpoints only; an ephemeral loopback port unless --urls / ASPNETCORE_URLS says otherwise, so
    // several replicas can share a host.
    builder.WebHost.UseUrls("http://127.0.0.1:0");
}
builder.AddWorkerServices();
builder.AddMaintenanceJobs();

var app = builder.Build();
app.MapServiceDefaults();
await app.RunAsync();
