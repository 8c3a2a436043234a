namespace OutboxSync.Chaos.Tests.Verification;

/// <summary>A resource row as the database holds it at the end of the run.</summary>
public sealed record DatabaseRow(string Type, Guid Id, string Name, string Status, string? Reason, long Revision, long Applied, bool IsInterfacePort);
