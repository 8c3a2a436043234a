using System.ComponentModel.DataAnnotations;

namespace OutboxSync.Persistence;

/// <summary>Database connection settings (section <c>Database</c>).</summary>
public sealed class DatabaseOptions
{
    public const string Section = "Database";

    /// <summary>Npgsql connection string. Required; no default.</summary>
    [Required(ErrorMessage = "Database:ConnectionString is required (e.g. Host=127.0.0.1;Port=5432;Database=outboxsync;Username=outboxsync).")]
    public string ConnectionString { get; set; } = "";
}
