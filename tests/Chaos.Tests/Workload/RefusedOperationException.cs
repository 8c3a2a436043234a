namespace OutboxSync.Chaos.Tests.Workload;

/// <summary>The API refused a call the workload considers valid (a 4xx that is neither a retryable conflict nor
/// the expected answer to a retry): a bug in the workload or the API, reported in the summary.</summary>
public sealed class RefusedOperationException(string message) : Exception(message);
