using OutboxSync.System.Tests.Support;
using OutboxSync.Testing;
using Xunit;

namespace OutboxSync.System.Tests;

/// <summary>
/// The real <c>openstack</c> CLI in password mode against a real Keystone: it authenticates each user, finds the API
/// through the catalog's <c>network</c> endpoint, and two projects' users never see or touch each other's resources.
/// </summary>
public sealed class OpenStackCliKeystoneTests : IAsyncLifetime
{
    private KeystoneServer _keystone = null!;
    private TestDatabase _db = null!;
    private ServiceProcess _api = null!;

    public async Task InitializeAsync()
    {
        _keystone = await KeystoneServer.InstanceAsync();
        _db = await TestDatabase.CreateAsync();
        var environment = new Dictionary<string, string>(_keystone.ApiSettings("__"))
        {
            ["Database__ConnectionString"] = _db.ConnectionString,
        };
        _api = await ServiceProcess.StartAsync("Api", environment);
        await _keystone.SetNetworkEndpointAsync(_api.Url!);
    }

    public async Task DisposeAsync()
    {
        await _api.DisposeAsync();
        await _db.DisposeAsync();
    }

    [Fact]
    public async Task Password_login_finds_the_api_in_the_catalog_and_keeps_two_projects_apart()
    {
        var user1 = OpenStackCli.PasswordAuth(_keystone.AuthUrl, _keystone.Project1);
        var user2 = OpenStackCli.PasswordAuth(_keystone.AuthUrl, _keystone.Project2);
        var admin = OpenStackCli.PasswordAuth(_keystone.AuthUrl, _keystone.Admin);
        var n1 = "kn1-" + Guid.NewGuid().ToString("N")[..8];
        var n2 = "kn2-" + Guid.NewGuid().ToString("N")[..8];

        var created = Ok(await OpenStackCli.RunAsync(user1, "network", "create", n1, "-f", "json")).Json;
        Assert.Equal("PENDING_CREATE", created.GetProperty("status").GetString());
        Assert.Equal(await _keystone.ProjectIdAsync(_keystone.Project1), created.GetProperty("project_id").GetString());
        Ok(await OpenStackCli.RunAsync(user1, "subnet", "create", "--network", n1, "--subnet-range", "10.7.0.0/24", n1 + "-s"));
        Ok(await OpenStackCli.RunAsync(user2, "network", "create", n2));

        var seenBy2 = Names(Ok(await OpenStackCli.RunAsync(user2, "network", "list", "-f", "json")));
        Assert.Contains(n2, seenBy2);
        Assert.DoesNotContain(n1, seenBy2);
        Assert.DoesNotContain(n2, Names(Ok(await OpenStackCli.RunAsync(user1, "network", "list", "-f", "json"))));
        var hidden = await OpenStackCli.RunAsync(user2, "network", "show", created.GetProperty("id").GetString()!);
        Assert.NotEqual(0, hidden.ExitCode);
        var delete = await OpenStackCli.RunAsync(user2, "network", "delete", created.GetProperty("id").GetString()!);
        Assert.NotEqual(0, delete.ExitCode);

        var seenByAdmin = Names(Ok(await OpenStackCli.RunAsync(admin, "network", "list", "-f", "json")));
        Assert.Contains(n1, seenByAdmin);
        Assert.Contains(n2, seenByAdmin);
        Assert.Equal("PENDING_CREATE", Ok(await OpenStackCli.RunAsync(user1, "network", "show", n1, "-f", "json")).Json.GetProperty("status").GetString());
    }

    private CliResult Ok(CliResult result)
    {
        Assert.True(result.ExitCode == 0, $"openstack failed ({result.ExitCode}): {result.Stderr}\nAPI log:\n{_api.Output}");
        return result;
    }

    private static List<string> Names(CliResult list) =>
        list.Json.EnumerateArray().Select(n => n.GetProperty("Name").GetString()!).ToList();
}
