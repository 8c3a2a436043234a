using System.Reflection;
using Npgsql;

namespace OutboxSync.Migrations;

/// <summary>
/// Applies the numbered SQL files under migrations/ in order, each in its own transaction, recording them in
/// <c>schema_migrations</c>. Applying twice is a no-op; concurrent migrators serialise on the table lock.
/// </summary>
public static class SchemaMigrator
{
    private const string Prefix = "migrations/";

    public static IReadOnlyList<(string Version, string Sql)> Embedded()
    {
        var assembly = typeof(SchemaMigrator).Assembly;
        return assembly.GetManifestResourceNames()
            .Where(n => n.StartsWith(Prefix, StringComparison.Ordinal) && n.EndsWith(".sql", StringComparison.Ordinal))
            .OrderBy(n => n, StringComparer.Ordinal)
            .Select(n => (Path.GetFileNameWithoutExtension(n[Prefix.Length..]), Read(assembly, n)))
            .ToList();
    }

    /// <summary>The newest version this build knows; readiness compares the database against it.</summary>
    public static string LatestVersion => Embedded()[^1].Version;

    public static async Task<IReadOnlyList<string>> ApplyAsync(string connectionString, CancellationToken ct = default)
    {
        var applied = new List<string>();
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync(ct);
        await using (var create = new NpgsqlCommand(
            "create table if not exists schema_migrations (version text primary key, applied_at timestamptz not null default now())",
            connection))
        {
            try
            {
                await create.ExecuteNonQueryAsync(ct);
            }
            catch (PostgresException e) when (e.SqlState is PostgresErrorCodes.UniqueViolation or PostgresErrorCodes.DuplicateTable or PostgresErrorCodes.DuplicateObject)
            {
                // A concurrent migrator created it first; "if not exists" is not race-free in PostgreSQL.
            }
        }

        foreach (var (version, sql) in Embedded())
        {
            await using var tx = await connection.BeginTransactionAsync(ct);
            // The exclusive table lock makes "check, then apply" atomic across concurrent migrators.
            await using (var lockCmd = new NpgsqlCommand("lock table schema_migrations in exclusive mode", connection, tx))
            {
                await lockCmd.ExecuteNonQueryAsync(ct);
            }
            await using (var check = new NpgsqlCommand("select 1 from schema_migrations where version = @v", connection, tx))
            {
                check.Parameters.AddWithValue("v", version);
                if (await check.ExecuteScalarAsync(ct) is not null)
                {
                    await tx.RollbackAsync(ct);
                    continue;
                }
            }
            await using (var apply = new NpgsqlCommand(sql, connection, tx))
            {
                await apply.ExecuteNonQueryAsync(ct);
            }
            await using (var record = new NpgsqlCommand("insert into schema_migrations (version) values (@v)", connection, tx))
            {
                record.Parameters.AddWithValue("v", version);
                await record.ExecuteNonQueryAsync(ct);
            }
            await tx.CommitAsync(ct);
            applied.Add(version);
        }
        return applied;
    }

    /// <summary>The newest version recorded in the database, or null before the first migration.</summary>
    public static async Task<string?> CurrentVersionAsync(NpgsqlDataSource dataSource, CancellationToken ct = default)
    {
        await using var cmd = dataSource.CreateCommand(
            "select max(version) from schema_migrations");
        try
        {
            return await cmd.ExecuteScalarAsync(ct) as string;
        }
        catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.UndefinedTable)
        {
            return null;
        }
    }

    private static string Read(Assembly assembly, string name)
    {
        using var stream = assembly.GetManifestResourceStream(name)!;
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }
}
