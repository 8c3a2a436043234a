using System.Text.Json.Nodes;
using Npgsql;
using OutboxSync.Chaos.Tests.Stack;

namespace OutboxSync.Chaos.Tests.Verification;

/// <summary>Both sides after the drain: every resource row and interface in the database, every object and
/// interface at the simulator, the simulator's counters, and the outbox by state.</summary>
public sealed class FinalState
{
    public static readonly string[] Collections = ["networks", "subnets", "ports", "routers", "security-groups", "security-group-rules"];

    public Dictionary<Guid, DatabaseRow> Rows { get; } = [];

    /// <summary>router_interfaces: port id → router id.</summary>
    public Dictionary<Guid, Guid> Interfaces { get; } = [];

    public Dictionary<string, Dictionary<Guid, (long Revision, JsonObject Attributes)>> BackEnd { get; } = [];

    /// <summary>Interfaces at the back end: port id → (router id, revision).</summary>
    public Dictionary<Guid, (Guid Router, long Revision)> BackEndInterfaces { get; } = [];

    public Dictionary<string, long> Violations { get; private set; } = [];

    public JsonObject SimulatorStats { get; private set; } = [];

    public Dictionary<string, long> OutboxByState { get; } = [];

    /// <summary>Leases still live after the drain (expected zero once the replicas are idle).</summary>
    public long LiveLeases { get; private set; }

    public static Task<FinalState> ReadAsync(ChaosStack stack) => ReadAsync(() => stack.OpenProbe(), stack.Simulator);

    /// <param name="openProbe">A new unopened connection to the database to read (after a failover, the new primary).</param>
    public static async Task<FinalState> ReadAsync(Func<NpgsqlConnection> openProbe, SimulatorProcess simulator)
    {
        var state = new FinalState();
        await using var connection = openProbe();
        await connection.OpenAsync();
        await using (var cmd = new NpgsqlCommand("""
            select 'network', id, name, status, status_reason, revision_number, applied_revision, false from networks
            union all select 'subnet', id, name, status, status_reason, revision_number, applied_revision, false from subnets
            union all select 'port', id, name, status, status_reason, revision_number, applied_revision,
                             device_owner = 'network:router_interface' from ports
            union all select 'router', id, name, status, status_reason, revision_number, applied_revision, false from routers
            union all select 'security_group', id, name, status, status_reason, revision_number, applied_revision, false from security_groups
            union all select 'security_group_rule', id, name, status, status_reason, revision_number, applied_revision, false from security_group_rules
            """, connection))
        await using (var reader = await cmd.ExecuteReaderAsync())
        {
            while (await reader.ReadAsync())
            {
                var row = new DatabaseRow(reader.GetString(0), reader.GetGuid(1), reader.GetString(2), reader.GetString(3),
                    reader.IsDBNull(4) ? null : reader.GetString(4), reader.GetInt64(5), reader.GetInt64(6), reader.GetBoolean(7));
                state.Rows[row.Id] = row;
            }
        }
        await using (var cmd = new NpgsqlCommand("select port_id, router_id from router_interfaces", connection))
        await using (var reader = await cmd.ExecuteReaderAsync())
        {
            while (await reader.ReadAsync())
            {
                state.Interfaces[reader.GetGuid(0)] = reader.GetGuid(1);
            }
        }
        await using (var cmd = new NpgsqlCommand("select state, count(*) from outbox_entries group by state", connection))
        await using (var reader = await cmd.ExecuteReaderAsync())
        {
            while (await reader.ReadAsync())
            {
                state.OutboxByState[reader.GetString(0)] = reader.GetInt64(1);
            }
        }
        await using (var cmd = new NpgsqlCommand("select count(*) from resource_leases where expires_at > now()", connection))
        {
            state.LiveLeases = (long)(await cmd.ExecuteScalarAsync())!;
        }

        foreach (var collection in Collections)
        {
            state.BackEnd[collection] = await simulator.ListAsync(collection);
        }
        foreach (var (router, port, revision) in await simulator.InterfacesAsync())
        {
            state.BackEndInterfaces[port] = (router, revision);
        }
        state.Violations = await simulator.ViolationsAsync();
        if (state.Violations.Values.Any(v => v > 0))
        {
            state.OverlappingCalls.AddRange(await OverlappingCallsAsync(simulator));
        }
        state.SimulatorStats = (await System.Net.Http.Json.HttpClientJsonExtensions.GetFromJsonAsync<JsonObject>(simulator.Admin, "_sim/stats"))!;
        return state;
    }

    /// <summary>When a violation was counted: pairs of mutating calls on one resource that were in flight at the same
    /// time at the simulator, so a failed run shows who overlapped (same token and key: an in-call retry; a newer
    /// token: a takeover).</summary>
    public List<string> OverlappingCalls { get; } = [];

    public bool AtBackEnd(string collection, Guid id) => BackEnd[collection].ContainsKey(id);

    private static async Task<IEnumerable<string>> OverlappingCallsAsync(SimulatorProcess simulator)
    {
        var calls = (await System.Net.Http.Json.HttpClientJsonExtensions.GetFromJsonAsync<JsonObject>(simulator.Admin, "_sim/calls"))!["items"]!.AsArray()
            .Select(c => c!.AsObject())
            .Where(c => c["started_at"] is not null && c["finished_at"] is not null)
            .GroupBy(c => c["resource_id"]!.GetValue<string>());
        var found = new List<string>();
        foreach (var resource in calls)
        {
            var ordered = resource.OrderBy(c => At(c, "started_at")).ToList();
            for (var i = 1; i < ordered.Count; i++)
            {
                var (before, after) = (ordered[i - 1], ordered[i]);
                if (At(after, "started_at") < At(before, "finished_at"))
                {
                    found.Add($"resource {resource.Key}: {Describe(before)} overlaps {Describe(after)}");
                }
            }
        }
        return found.Take(10);
    }

    private static DateTimeOffset At(JsonObject call, string field) =>
        DateTimeOffset.Parse(call[field]!.GetValue<string>(), System.Globalization.CultureInfo.InvariantCulture);

    private static string Describe(JsonObject call) =>
        $"[{call["method"]} {call["path"]} token {call["fencing_token"]} key {call["idempotency_key"]} {call["outcome"]}/{call["error"]} " +
        $"{call["started_at"]}..{call["finished_at"]}]";
}
