namespace OutboxSync.Leases;

/// <summary>What a release found at the database.</summary>
public enum LeaseRelease
{
    /// <summary>The token still held a live lease; it is gone now and anyone may take the resource at once.</summary>
    Released,

    /// <summary>The token's row was still there but had expired: nobody had taken it yet, yet anyone could have.
    /// The holder worked (or stalled) past its lease.</summary>
    RanOut,

    /// <summary>The token no longer held the resource (taken over, or swept after expiry); nothing changed.</summary>
    NotHeld,
}
