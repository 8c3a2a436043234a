global using OutboxSync.Testing;
global using Xunit;

// The chaos, failover and partition runs each load the machine on their own; side by side their timings would
// measure each other.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
