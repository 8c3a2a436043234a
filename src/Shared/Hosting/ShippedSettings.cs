using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Configuration.Json;
using Microsoft.Extensions.FileProviders;
using Microsoft.Extensions.Hosting;

namespace OutboxSync.Hosting;

/// <summary>
/// Makes the <c>appsettings*.json</c> shipped beside a service's assembly apply however it is started. The host
/// reads them from the content root, which defaults to the working directory: a service started from the
/// repository root (scripts/run.sh, the bench, the chaos run) silently ran without its shipped defaults (log
/// levels among them). Where the content root has no such file, the source is pointed at the assembly's
/// directory instead, keeping its place in the source order, so environment variables and the command line
/// still override it.
/// </summary>
public static class ShippedSettings
{
    public static IHostApplicationBuilder UseShippedSettings(this IHostApplicationBuilder builder) =>
        builder.UseShippedSettings(AppContext.BaseDirectory);

    /// <param name="shippedDirectory">Where the files ship (the assembly's directory; a parameter for tests).</param>
    public static IHostApplicationBuilder UseShippedSettings(this IHostApplicationBuilder builder, string shippedDirectory)
    {
        var contentRoot = builder.Environment.ContentRootPath;
        if (PathsEqual(contentRoot, shippedDirectory))
        {
            return builder;
        }
        var sources = builder.Configuration.Sources;
        for (var i = 0; i < sources.Count; i++)
        {
            if (sources[i] is not JsonConfigurationSource { Path: { } path } json
                || !path.StartsWith("appsettings", StringComparison.OrdinalIgnoreCase)
                || File.Exists(Path.Combine(contentRoot, path))
                || !File.Exists(Path.Combine(shippedDirectory, path)))
            {
                continue;
            }
            // Replacing the entry (rather than mutating it) makes the configuration reload the source.
            sources[i] = new JsonConfigurationSource
            {
                Path = path,
                Optional = json.Optional,
                ReloadOnChange = json.ReloadOnChange,
                FileProvider = new PhysicalFileProvider(shippedDirectory),
            };
        }
        return builder;
    }

    private static bool PathsEqual(string a, string b) =>
        string.Equals(Path.TrimEndingDirectorySeparator(Path.GetFullPath(a)),
            Path.TrimEndingDirectorySeparator(Path.GetFullPath(b)), StringComparison.Ordinal);
}
