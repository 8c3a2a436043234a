using OutboxSync.Persistence;
using OutboxSync.Worker;

// The outbox drain: claims resources with due entries under per-resource leases and applies them to the back end.
//   Drain/      the loop, one pass, one resource under its lease, lease heartbeat, LISTEN wake-ups
//   Ordering/   which entry may go next (parents before children) and what to send (coalescing)
//   Backend/    the typed HTTP client and its resilience pipeline
//   Retry/      persisted backoff and the attempt budget
var builder = Host.CreateApplicationBuilder(args);
builder.AddOutboxSyncDatabase();
builder.AddWorkerServices();
await builder.Build().RunAsync();
