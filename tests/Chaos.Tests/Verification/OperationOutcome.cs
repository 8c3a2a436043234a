namespace OutboxSync.Chaos.Tests.Verification;

/// <summary>What became of one accepted operation.</summary>
public enum OperationOutcome
{
    /// <summary>The back end holds its effect (or a later revision), and the database agrees.</summary>
    Applied,

    /// <summary>A create or update of a resource a later accepted delete removed from both sides.</summary>
    SupersededByDelete,

    /// <summary>Its resource is ERROR with a reason (the system gave up and says why).</summary>
    ErrorWithReason,

    /// <summary>None of the above: the run fails.</summary>
    NotApplied,
}
