using System.ComponentModel.DataAnnotations;

namespace OutboxSync.Api;

/// <summary>API behaviour (section <c>Api</c>).</summary>
public sealed class ApiOptions
{
    public const string Section = "Api";

    /// <summary>
    /// Hide PENDING_DELETE resources from show and list, for clients that expect a delete to take effect at once.
    /// They keep their addresses and names until the back end confirms. Default: false.
    /// </summary>
    public bool HidePendingDeletes { get; set; }

    /// <summary>Largest page a list returns; bigger <c>limit</c> values are capped. Default: 1000.</summary>
    [Range(1, 10000, ErrorMessage = "Api:MaxPageSize must be between 1 and 10000.")]
    public int MaxPageSize { get; set; } = 1000;

    /// <summary>Largest accepted request body in bytes; larger bodies get 413. Default: 1048576 (1 MiB).</summary>
    [Range(1024, 64 * 1024 * 1024, ErrorMessage = "Api:MaxBodyBytes must be between 1024 and 67108864.")]
    public long MaxBodyBytes { get; set; } = 1024 * 1024;

    /// <summary>
    /// Accept transactions open at once; further requests wait before BEGIN, never inside a transaction.
    /// Default: 8 (a few per core keeps each transaction to milliseconds).
    /// </summary>
    [Range(1, 1024, ErrorMessage = "Api:MaxConcurrentTransactions must be between 1 and 1024.")]
    public int MaxConcurrentTransactions { get; set; } = 8;

    /// <summary>
    /// Shortest time between two <c>NOTIFY outbox_wakeup</c> the API sends; commits in between share the next one.
    /// The first commit after a quiet spell notifies at once, so this adds latency only under load, when workers
    /// are busy anyway. 0 sends one per commit that finds none in flight. Default: 00:00:00.005 (5 ms).
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:00:01", ErrorMessage = "Api:WakeupInterval must be between 00:00:00 and 00:00:01.")]
    public TimeSpan WakeupInterval { get; set; } = TimeSpan.FromMilliseconds(5);

    /// <summary>MTU given to networks created without one; at most <see cref="MaxMtu"/>. Default: 1500.</summary>
    [Range(68, 65535, ErrorMessage = "Api:DefaultMtu must be between 68 and 65535.")]
    public int DefaultMtu { get; set; } = 1500;

    /// <summary>
    /// Largest MTU a network may ask for (Neutron's global_physnet_mtu less overlay overhead); a larger one is 400.
    /// Default: 9216.
    /// </summary>
    [Range(68, 65535, ErrorMessage = "Api:MaxMtu must be between 68 and 65535.")]
    public int MaxMtu { get; set; } = 9216;
}
