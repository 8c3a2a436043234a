using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Npgsql;

namespace OutboxSync.Testing;

/// <summary>A Keystone user's password credentials (domain Default).</summary>
public sealed record KeystoneUser(string Username, string Password, string ProjectName);

/// <summary>
/// A real Keystone (Debian's package under uwsgi), started by <c>scripts/keystone.py</c> — the same script
/// <c>scripts/run.sh --keystone</c> uses — with its database on the tests' PostgreSQL server. One shared per test
/// process, or a dedicated one (its own database, e.g. with short-lived tokens); stopped when disposed or when the
/// process exits. A Keystone left by a killed test process is stopped by the next one.
/// </summary>
public sealed class KeystoneServer : IAsyncDisposable
{
    private const string DirectoryPrefix = "outboxsync-ks-";
    private static readonly Lazy<Task<KeystoneServer>> Shared = new(() => StartAsync(TimeSpan.FromHours(1), dedicated: false));
    private static readonly HttpClient Http = new() { Timeout = TimeSpan.FromSeconds(30) };

    private readonly Process _script;
    private readonly string _root;
    private readonly string _database;
    private readonly bool _dedicated;
    private int _stopped;

    private KeystoneServer(Process script, string root, string database, bool dedicated, JsonNode info)
    {
        _script = script;
        _root = root;
        _database = database;
        _dedicated = dedicated;
        AuthUrl = info["auth_url"]!.GetValue<string>();
        Admin = User(info["users"]!["admin"]!);
        Project1 = User(info["users"]!["project1"]!);
        Project2 = User(info["users"]!["project2"]!);
        ServiceUser = User(info["service_user"]!);
        ProcessGroup = info["uwsgi_pgid"]!.GetValue<int>();
    }

    /// <summary>The identity API, ending in <c>/v3</c>.</summary>
    public string AuthUrl { get; }
    public KeystoneUser Admin { get; }
    public KeystoneUser Project1 { get; }
    public KeystoneUser Project2 { get; }

    /// <summary>The user the API authenticates as (service role on project <c>service</c>).</summary>
    public KeystoneUser ServiceUser { get; }

    /// <summary>uwsgi's process group: SIGSTOP to it makes Keystone hang, SIGCONT resumes it.</summary>
    public int ProcessGroup { get; }

    public static Task<KeystoneServer> InstanceAsync() => Shared.Value;

    /// <summary>A Keystone of its own (own database and keys) whose tokens live <paramref name="tokenLifetime"/>.</summary>
    public static Task<KeystoneServer> StartDedicatedAsync(TimeSpan tokenLifetime) => StartAsync(tokenLifetime, dedicated: true);

    /// <summary>The API's configuration for validating tokens with this Keystone.</summary>
    public Dictionary<string, string> ApiSettings(string separator = ":") => new()
    {
        [$"Auth{separator}Keystone{separator}AuthUrl"] = AuthUrl,
        [$"Auth{separator}Keystone{separator}Username"] = ServiceUser.Username,
        [$"Auth{separator}Keystone{separator}Password"] = ServiceUser.Password,
        [$"Auth{separator}Keystone{separator}ProjectName"] = ServiceUser.ProjectName,
    };

    /// <summary>A project-scoped token for <paramref name="user"/> (password method).</summary>
    public async Task<string> IssueTokenAsync(KeystoneUser user)
    {
        var (token, _) = await AuthenticateAsync(user.Username, user.Password,
            new JsonObject { ["project"] = new JsonObject { ["name"] = user.ProjectName, ["domain"] = new JsonObject { ["name"] = "Default" } } });
        return token;
    }

    /// <summary>A token scoped to the domain Default instead of a project (the user needs a role on the domain).</summary>
    public async Task<string> IssueDomainScopedTokenAsync(KeystoneUser user) =>
        (await AuthenticateAsync(user.Username, user.Password, new JsonObject { ["domain"] = new JsonObject { ["name"] = "Default" } })).Token;

    /// <summary>A token with no scope at all.</summary>
    public async Task<string> IssueUnscopedTokenAsync(KeystoneUser user) => (await AuthenticateAsync(user.Username, user.Password, null)).Token;

    /// <summary>Revokes a token (<c>DELETE /v3/auth/tokens</c>), as a logout or an administrator does.</summary>
    public async Task RevokeAsync(string token)
    {
        using var request = new HttpRequestMessage(HttpMethod.Delete, AuthUrl + "/auth/tokens");
        request.Headers.Add("X-Auth-Token", await IssueTokenAsync(Admin));
        request.Headers.Add("X-Subject-Token", token);
        using var response = await Http.SendAsync(request);
        Ensure(response, HttpStatusCode.NoContent, "revoke a token");
    }

    /// <summary>A new user holding <paramref name="roles"/> on a new project (or on the domain Default when
    /// <paramref name="onDomain"/>), for tests that need callers of their own.</summary>
    public async Task<KeystoneUser> CreateUserAsync(string[] roles, bool onDomain = false)
    {
        var admin = await IssueTokenAsync(Admin);
        var suffix = Guid.NewGuid().ToString("N")[..10];
        var project = await AdminCallAsync(admin, HttpMethod.Post, "/projects",
            new JsonObject { ["project"] = new JsonObject { ["name"] = "p-" + suffix, ["domain_id"] = "default" } });
        var projectId = project!["project"]!["id"]!.GetValue<string>();
        var password = Guid.NewGuid().ToString("N");
        var user = await AdminCallAsync(admin, HttpMethod.Post, "/users", new JsonObject
        {
            ["user"] = new JsonObject { ["name"] = "u-" + suffix, ["password"] = password, ["domain_id"] = "default" },
        });
        var userId = user!["user"]!["id"]!.GetValue<string>();
        foreach (var role in roles)
        {
            var found = await AdminCallAsync(admin, HttpMethod.Get, "/roles?name=" + role, null);
            var roleId = found!["roles"]!.AsArray().FirstOrDefault()?["id"]?.GetValue<string>()
                ?? (await AdminCallAsync(admin, HttpMethod.Post, "/roles", new JsonObject { ["role"] = new JsonObject { ["name"] = role } }))!["role"]!["id"]!.GetValue<string>();
            var target = onDomain ? "/domains/default" : "/projects/" + projectId;
            await AdminCallAsync(admin, HttpMethod.Put, $"{target}/users/{userId}/roles/{roleId}", null);
        }
        return new KeystoneUser("u-" + suffix, password, "p-" + suffix);
    }

    /// <summary>The project id Keystone gave <paramref name="user"/>'s project.</summary>
    public async Task<string> ProjectIdAsync(KeystoneUser user)
    {
        var (_, body) = await AuthenticateAsync(user.Username, user.Password,
            new JsonObject { ["project"] = new JsonObject { ["name"] = user.ProjectName, ["domain"] = new JsonObject { ["name"] = "Default" } } });
        return body["token"]!["project"]!["id"]!.GetValue<string>();
    }

    /// <summary>Points the catalog's <c>network</c> endpoints (public, internal, admin) at <paramref name="url"/>.</summary>
    public async Task SetNetworkEndpointAsync(string url)
    {
        var admin = await IssueTokenAsync(Admin);
        var services = await AdminCallAsync(admin, HttpMethod.Get, "/services?type=network", null);
        var serviceId = services!["services"]!.AsArray().FirstOrDefault()?["id"]?.GetValue<string>()
            ?? (await AdminCallAsync(admin, HttpMethod.Post, "/services",
                new JsonObject { ["service"] = new JsonObject { ["name"] = "neutron", ["type"] = "network" } }))!["service"]!["id"]!.GetValue<string>();
        var endpoints = await AdminCallAsync(admin, HttpMethod.Get, "/endpoints?service_id=" + serviceId, null);
        foreach (var existing in endpoints!["endpoints"]!.AsArray())
        {
            await AdminCallAsync(admin, HttpMethod.Delete, "/endpoints/" + existing!["id"]!.GetValue<string>(), null);
        }
        foreach (var face in new[] { "public", "internal", "admin" })
        {
            await AdminCallAsync(admin, HttpMethod.Post, "/endpoints", new JsonObject
            {
                ["endpoint"] = new JsonObject { ["service_id"] = serviceId, ["interface"] = face, ["url"] = url, ["region_id"] = "RegionOne" },
            });
        }
    }

    /// <summary>SIGSTOP (true) or SIGCONT (false) to every uwsgi process: Keystone hangs or resumes.</summary>
    public void Pause(bool paused) => Signal(-ProcessGroup, paused ? 19 : 18);

    public ValueTask DisposeAsync()
    {
        if (_dedicated)
        {
            Stop();
        }
        return ValueTask.CompletedTask;
    }

    private static async Task<KeystoneServer> StartAsync(TimeSpan tokenLifetime, bool dedicated)
    {
        if (!File.Exists("/usr/bin/keystone-manage") || !File.Exists("/usr/bin/keystone-wsgi-public"))
        {
            throw new InvalidOperationException(
                "Keystone tests need Debian's keystone: apt-get install keystone uwsgi uwsgi-plugin-python3 python3-psycopg2 (.ci/run installs them).");
        }
        SweepAbandoned();
        var postgres = await PostgresServer.InstanceAsync();
        var database = "keystone_" + Guid.NewGuid().ToString("N")[..12];
        var root = Path.Combine(Path.GetTempPath(), $"{DirectoryPrefix}{Environment.ProcessId}-{Guid.NewGuid():N}"[..40]);
        Directory.CreateDirectory(root);
        var admin = new NpgsqlConnectionStringBuilder(postgres.AdminConnectionString);
        var outFile = Path.Combine(root, "keystone.json");
        var psi = new ProcessStartInfo("python3")
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = root,
        };
        string[] args =
        [
            Path.Combine(ServiceProcess.RepositoryRoot(), "scripts", "keystone.py"), "serve", "--dir", Path.Combine(root, "keystone"),
            "--pg-host", admin.Host!, "--pg-port", admin.Port.ToString(global::System.Globalization.CultureInfo.InvariantCulture),
            "--pg-user", admin.Username!, "--database", database,
            "--port", ServiceProcess.FreePort().ToString(global::System.Globalization.CultureInfo.InvariantCulture),
            "--token-expiration", ((int)tokenLifetime.TotalSeconds).ToString(global::System.Globalization.CultureInfo.InvariantCulture),
            "--out", outFile,
        ];
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }
        if (admin.Password is { Length: > 0 } password)
        {
            psi.ArgumentList.Add("--pg-password");
            psi.ArgumentList.Add(password);
        }
        if (postgres.BinDirectory is { } bin)
        {
            psi.ArgumentList.Add("--psql");
            psi.ArgumentList.Add(Path.Combine(bin, "psql"));
        }
        var script = Process.Start(psi) ?? throw new InvalidOperationException("Could not start scripts/keystone.py");
        var log = new StringBuilder();
        script.OutputDataReceived += (_, e) => { lock (log) { log.AppendLine(e.Data); } };
        script.ErrorDataReceived += (_, e) => { lock (log) { log.AppendLine(e.Data); } };
        script.BeginOutputReadLine();
        script.BeginErrorReadLine();
        // Setup is about 20 s on an idle machine; CI runs test projects side by side.
        var deadline = Stopwatch.StartNew();
        while (!File.Exists(outFile))
        {
            if (script.HasExited || deadline.Elapsed > TimeSpan.FromMinutes(4))
            {
                if (!script.HasExited)
                {
                    script.Kill(entireProcessTree: true);
                }
                string output;
                lock (log)
                {
                    output = log.ToString();
                }
                throw new InvalidOperationException($"Keystone did not start (after {deadline.Elapsed.TotalSeconds:0} s):\n{output}");
            }
            await Task.Delay(100);
        }
        var server = new KeystoneServer(script, root, database, dedicated, JsonNode.Parse(await File.ReadAllTextAsync(outFile))!);
        AppDomain.CurrentDomain.ProcessExit += (_, _) => server.Stop();
        return server;
    }

    private void Stop()
    {
        if (Interlocked.Exchange(ref _stopped, 1) == 1)
        {
            return;
        }
        Pause(false);
        if (!_script.HasExited)
        {
            Signal(_script.Id, 15);
            if (!_script.WaitForExit(10_000))
            {
                _script.Kill(entireProcessTree: true);
                Signal(-ProcessGroup, 9);
            }
        }
        try
        {
            Directory.Delete(_root, recursive: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
        }
        if (_dedicated)
        {
            DropDatabase();
        }
    }

    private void DropDatabase()
    {
        try
        {
            var postgres = PostgresServer.InstanceAsync().GetAwaiter().GetResult();
            using var connection = new NpgsqlConnection(postgres.AdminConnectionString);
            connection.Open();
            using var drop = new NpgsqlCommand($"drop database if exists \"{_database}\" with (force)", connection);
            drop.ExecuteNonQuery();
        }
        catch (NpgsqlException)
        {
            // The server is already gone at process exit.
        }
    }

    /// <summary>Keystones whose test process was killed: their uwsgi (by the group recorded in keystone.json) and
    /// script would run on.</summary>
    private static void SweepAbandoned()
    {
        foreach (var root in Directory.EnumerateDirectories(Path.GetTempPath(), DirectoryPrefix + "*"))
        {
            if (!int.TryParse(Path.GetFileName(root)[DirectoryPrefix.Length..].Split('-')[0], out var pid) || AbandonedClusters.IsAlive(pid))
            {
                continue;
            }
            try
            {
                if (JsonNode.Parse(File.ReadAllText(Path.Combine(root, "keystone.json")))?["uwsgi_pgid"]?.GetValue<int>() is { } group
                    && File.Exists($"/proc/{group}/cmdline") && File.ReadAllText($"/proc/{group}/cmdline").Contains("uwsgi", StringComparison.Ordinal))
                {
                    Signal(-group, 9);
                }
                Directory.Delete(root, recursive: true);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or JsonException)
            {
            }
        }
    }


    private static void Signal(int pid, int signal)
    {
        using var kill = Process.Start(new ProcessStartInfo("kill", ["-" + signal.ToString(global::System.Globalization.CultureInfo.InvariantCulture), "--", pid.ToString(global::System.Globalization.CultureInfo.InvariantCulture)])
        {
            UseShellExecute = false,
            RedirectStandardError = true,
        });
        kill?.WaitForExit();
    }

    private async Task<(string Token, JsonNode Body)> AuthenticateAsync(string user, string password, JsonObject? scope)
    {
        var auth = new JsonObject
        {
            ["identity"] = new JsonObject
            {
                ["methods"] = new JsonArray("password"),
                ["password"] = new JsonObject
                {
                    ["user"] = new JsonObject { ["name"] = user, ["domain"] = new JsonObject { ["name"] = "Default" }, ["password"] = password },
                },
            },
        };
        if (scope is not null)
        {
            auth["scope"] = scope;
        }
        using var request = new HttpRequestMessage(HttpMethod.Post, AuthUrl + "/auth/tokens?nocatalog")
        {
            Content = Json(new JsonObject { ["auth"] = auth }),
        };
        using var response = await Http.SendAsync(request);
        Ensure(response, HttpStatusCode.Created, "authenticate " + user);
        return (response.Headers.GetValues("X-Subject-Token").Single(), JsonNode.Parse(await response.Content.ReadAsStringAsync())!);
    }

    private async Task<JsonNode?> AdminCallAsync(string adminToken, HttpMethod method, string path, JsonObject? body)
    {
        using var request = new HttpRequestMessage(method, AuthUrl + path);
        request.Headers.Add("X-Auth-Token", adminToken);
        if (body is not null)
        {
            request.Content = Json(body);
        }
        using var response = await Http.SendAsync(request);
        if (!response.IsSuccessStatusCode)
        {
            throw new InvalidOperationException($"Keystone {method} {path}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
        }
        var text = await response.Content.ReadAsStringAsync();
        return text.Length == 0 ? null : JsonNode.Parse(text);
    }

    /// <summary>A buffered body (with Content-Length): uwsgi's HTTP socket reads no chunked request bodies.</summary>
    private static StringContent Json(JsonNode body) =>
        new(body.ToJsonString(), Encoding.UTF8, new MediaTypeHeaderValue("application/json"));

    private static void Ensure(HttpResponseMessage response, HttpStatusCode expected, string what)
    {
        if (response.StatusCode != expected)
        {
            throw new InvalidOperationException($"Keystone could not {what}: {(int)response.StatusCode}");
        }
    }

    private static KeystoneUser User(JsonNode node) => new(
        node["username"]!.GetValue<string>(), node["password"]!.GetValue<string>(), node["project_name"]!.GetValue<string>());
}
