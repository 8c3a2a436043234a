using OutboxSync.Migrations;

// Applies the schema: `dotnet run --project src/Migrator -- "<connection string>"`, or the connection string in
// Database__ConnectionString. Idempotent; used by scripts/run.sh, docker-compose and the tests.
var connectionString = args.FirstOrDefault() ?? Environment.GetEnvironmentVariable("Database__ConnectionString");
if (string.IsNullOrWhiteSpace(connectionString))
{
    await Console.Error.WriteLineAsync("usage: OutboxSync.Migrator <connection string>  (or set Database__ConnectionString)");
    return 2;
}

try
{
    var applied = await SchemaMigrator.ApplyAsync(connectionString);
    Console.WriteLine(applied.Count == 0
        ? $"Schema is up to date at {SchemaMigrator.LatestVersion}."
        : $"Applied {string.Join(", ", applied)}; schema is at {SchemaMigrator.LatestVersion}.");
    return 0;
}
catch (Npgsql.NpgsqlException e)
{
    await Console.Error.WriteLineAsync($"Migration failed: {e.Message}");
    return 1;
}
