using System.Diagnostics;
using System.Text.Json;
using OutboxSync.Testing;

namespace OutboxSync.System.Tests.Support;

/// <summary>What one run of the <c>openstack</c> CLI printed.</summary>
public sealed record CliResult(int ExitCode, string Stdout, string Stderr)
{
    public JsonElement Json => JsonDocument.Parse(Stdout).RootElement.Clone();
}

/// <summary>The real <c>openstack</c> CLI (python3-openstackclient), run as a user runs it.</summary>
public static class OpenStackCli
{
    /// <summary>Token mode: a token and the API's URL, no Keystone.</summary>
    public static string[] TokenAuth(string token, string endpoint) =>
        ["--os-auth-type", "admin_token", "--os-token", token, "--os-endpoint", endpoint];

    /// <summary>Password mode: Keystone authenticates the user and its catalog names the network endpoint.</summary>
    public static string[] PasswordAuth(string authUrl, string username, string password, string project) =>
    [
        "--os-auth-url", authUrl, "--os-identity-api-version", "3", "--os-user-domain-name", "Default",
        "--os-project-domain-name", "Default", "--os-username", username, "--os-password", password, "--os-project-name", project,
    ];

    public static string[] PasswordAuth(string authUrl, KeystoneUser user) => PasswordAuth(authUrl, user.Username, user.Password, user.ProjectName);

    public static async Task<CliResult> RunAsync(string[] auth, params string[] args)
    {
        var psi = new ProcessStartInfo("openstack")
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var a in auth.Concat(args))
        {
            psi.ArgumentList.Add(a);
        }
        foreach (var variable in new[] { "OS_CLOUD", "OS_AUTH_URL", "OS_TOKEN", "OS_USERNAME", "OS_PASSWORD", "OS_PROJECT_NAME" })
        {
            psi.Environment.Remove(variable);
        }
        using var process = Process.Start(psi) ?? throw new InvalidOperationException("openstack CLI not found; install python3-openstackclient");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(90));
        await process.WaitForExitAsync(timeout.Token);
        return new CliResult(process.ExitCode, await stdout, await stderr);
    }
}
