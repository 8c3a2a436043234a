namespace OutboxSync.Leases;

/// <summary>What the drain's claim (<see cref="LeaseStore.AcquireDueAsync"/>) found: the leases it won, and how many
/// resources were due. <see cref="Due"/> above <c>Won.Count</c> means another replica took some of them first.</summary>
public sealed record LeaseClaim(IReadOnlyList<ResourceLease> Won, int Due);
