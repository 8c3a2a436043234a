namespace OutboxSync.Chaos.Tests.Verification;

/// <summary>What became of one resource the clients made.</summary>
public enum ResourceOutcome
{
    /// <summary>ACTIVE at its latest revision and name in the database, the same revision (and name) at the back end.</summary>
    Live,

    /// <summary>Deleted by an accepted call, and gone from both sides.</summary>
    Deleted,

    ErrorWithReason,

    /// <summary>Anything else: the run fails.</summary>
    Wrong,
}
