using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Npgsql;
using OutboxSync.Worker.Tests.Support;

namespace OutboxSync.Worker.Tests.EndToEnd;

/// <summary>
/// A database rewound past changes the back end already applied (a promoted asynchronous standby that missed the last
/// commits, a point-in-time restore) hands out the same outbox seq values again. The failover run found that keys
/// made from seq then repeat, and the back end answered a new change with "idempotency key reused" and never applied
/// it. Each entry's key is now its own.
/// </summary>
[Collection(nameof(EndToEndCollection))]
public sealed class RewoundDatabaseTests : SimulatorBackedTests
{
    private ApiProcess _api = null!;
    private WorkerHost _worker = null!;

    protected override async Task SetUpAsync()
    {
        await base.SetUpAsync();
        _api = await ApiProcess.StartAsync(Database.ConnectionString);
        _worker = await WorkerHost.StartAsync(Database, Simulator.BaseUrl.ToString());
    }

    protected override async Task TearDownAsync()
    {
        await _worker.DisposeAsync();
        await _api.DisposeAsync();
        await base.TearDownAsync();
    }

    [Fact]
    public async Task A_change_given_a_seq_handed_out_again_after_a_rewind_is_applied_and_not_refused_as_a_reused_key()
    {
        var id = await _api.CreateAsync("networks", "network", new JsonObject { ["name"] = "rewound" });
        await _api.WaitForStatusAsync("networks", "network", id, "ACTIVE");
        await RenameAsync(id, "applied-then-lost");
        await WaitForBackEndNameAsync(id, "applied-then-lost");

        // The rewind: the rename's entry is gone from the database and its seq will be handed out again, while the
        // back end keeps what that entry applied and the answer it cached under the entry's key.
        var lostSeq = await ScalarAsync($"select max(seq) from outbox_entries where resource_id = '{id}'");
        await ExecuteAsync($"delete from outbox_entries where seq = {lostSeq}");
        await ExecuteAsync($"alter table outbox_entries alter column seq restart with {lostSeq}");

        await RenameAsync(id, "after-the-rewind");
        Assert.Equal(lostSeq, await ScalarAsync($"select max(seq) from outbox_entries where resource_id = '{id}'"));

        await WaitForBackEndNameAsync(id, "after-the-rewind");
        await _api.WaitForStatusAsync("networks", "network", id, "ACTIVE");
        var violations = await Simulator.ViolationsAsync();
        Assert.Equal(0, violations["key_reuse"]);
    }

    [Fact]
    public async Task A_change_whose_first_token_is_below_one_the_back_end_saw_before_a_rewind_is_applied_once_the_tokens_pass_it()
    {
        var id = await _api.CreateAsync("networks", "network", new JsonObject { ["name"] = "token-rewound" });
        await _api.WaitForStatusAsync("networks", "network", id, "ACTIVE");
        // The back end sees a token this database will hand out again: the rewind lost the leases that used it.
        for (var i = 0; i < 3; i++)
        {
            await RenameAsync(id, $"before-the-rewind-{i}");
            await WaitForBackEndNameAsync(id, $"before-the-rewind-{i}");
        }
        await ExecuteAsync("select setval('fencing_tokens', 1)");

        // The first attempt is refused as stale and the back end caches that refusal under the entry's key; every
        // later attempt takes a newer token, and must not be answered with the cached refusal.
        await RenameAsync(id, "after-the-token-rewind");

        await WaitForBackEndNameAsync(id, "after-the-token-rewind");
        await _api.WaitForStatusAsync("networks", "network", id, "ACTIVE");
        // It was refused as stale at least once on the way (the rewind did what it should).
        Assert.True((await Simulator.ViolationsAsync())["stale_token"] > 0);
    }

    private async Task RenameAsync(Guid id, string name)
    {
        using var response = await _api.Neutron.PutAsJsonAsync($"networks/{id}", new JsonObject { ["network"] = new JsonObject { ["name"] = name } });
        Assert.True(response.IsSuccessStatusCode, $"rename: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
    }

    private Task WaitForBackEndNameAsync(Guid id, string name) =>
        Eventually.HoldsAsync(async () => (await Simulator.ListAsync("networks")).TryGetValue(id, out var network)
                && network.Attributes["name"]?.GetValue<string>() == name,
            $"the back end to name network {id} '{name}'", TimeSpan.FromSeconds(60));

    private async Task<long> ScalarAsync(string sql)
    {
        await using var connection = new NpgsqlConnection(Database.ConnectionString);
        await connection.OpenAsync();
        await using var cmd = new NpgsqlCommand(sql, connection);
        return (long)(await cmd.ExecuteScalarAsync())!;
    }

    private async Task ExecuteAsync(string sql)
    {
        await using var connection = new NpgsqlConnection(Database.ConnectionString);
        await connection.OpenAsync();
        await using var cmd = new NpgsqlCommand(sql, connection);
        await cmd.ExecuteNonQueryAsync();
    }
}
