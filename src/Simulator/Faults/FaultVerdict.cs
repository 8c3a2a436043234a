namespace OutboxSync.Simulator.Faults;

/// <summary>What the pre-processing faults decided for one call.</summary>
internal enum FaultVerdict
{
    /// <summary>Handle the call normally.</summary>
    Proceed,

    /// <summary>Answer 503 without applying anything.</summary>
    Fail,

    /// <summary>The connection was aborted on purpose; there is no response to write.</summary>
    Reset,

    /// <summary>The client went away while the call waited; nothing may be applied.</summary>
    ClientGone,

    /// <summary>The caller's deadline passed while the call waited; nothing may be applied.</summary>
    DeadlineExceeded,
}
