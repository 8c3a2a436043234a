using System.ComponentModel.DataAnnotations;

namespace OutboxSync.Persistence;

/// <summary>Database connection settings (section <c>Database</c>).</summary>
public sealed class DatabaseOptions
{
    public const string Section = "Database";

    /// <summary>Npgsql connection string. Required; no default.</summary>
    [Required(ErrorMessage = "Database:ConnectionString is required (e.g. Host=127.0.0.1;Port=5432;Database=outboxsync;Username=outboxsync).")]
    public string ConnectionString { get; set; } = "";

    /// <summary>Most connections this process opens (Npgsql's <c>Maximum Pool Size</c>) when the connection string does not
    /// say. Default: none in the API (Npgsql's 100: a request holds its connection for its transaction);
    /// <see cref="WorkerMaxPoolSize"/> in the worker.</summary>
    [Range(1, 10_000)]
    public int? MaxPoolSize { get; set; }

    /// <summary>The worker's default <see cref="MaxPoolSize"/>. A drain step holds a connection for one short batch, so
    /// 32 calls in flight keep few busy; with Npgsql's 100 each replica grew to dozens of backends, and at 8 replicas on
    /// 2 cores PostgreSQL spent its time scheduling them and planning each one's statements anew: T4 at 8 replicas read
    /// 0.64–0.68 of ideal with 100 and 0.87–0.91 with 4–8 (BENCHMARKS.md).</summary>
    public const int WorkerMaxPoolSize = 8;
}
