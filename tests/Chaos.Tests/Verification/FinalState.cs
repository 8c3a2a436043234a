using System.Text.Json.Nodes;
using Npgsql;
using OutboxSync.Chaos.Tests.Stack;

namespace OutboxSync.Chaos.Tests.Verification;

/// <summary>Both sides after the drain: every resource row and interface in the database, every object and
/// interface at the simulator, the simulator's counters, and the outbox by state.</summary>
public sealed class FinalState
{
    public static readonly string[] Collections = ["networks", "subnets", "ports", "routers"];

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

    public static async Task<FinalState> ReadAsync(ChaosStack stack)
    {
        var state = new FinalState();
        await using var connection = stack.OpenProbe();
        await connection.OpenAsync();
        await using (var cmd = new NpgsqlCommand("""
            select 'network', id, name, status, status_reason, revision_number, applied_revision, false from networks
            union all select 'subnet', id, name, status, status_reason, revision_number, applied_revision, false from subnets
            union all select 'port', id, name, status, status_reason, revision_number, applied_revision,
                             device_owner = 'network:router_interface' from ports
            union all select 'router', id, name, status, status_reason, revision_number, applied_revision, false from routers
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
            state.BackEnd[collection] = await stack.Simulator.ListAsync(collection);
        }
        foreach (var (router, port, revision) in await stack.Simulator.InterfacesAsync())
        {
            state.BackEndInterfaces[port] = (router, revision);
        }
        state.Violations = await stack.Simulator.ViolationsAsync();
        state.SimulatorStats = (await System.Net.Http.Json.HttpClientJsonExtensions.GetFromJsonAsync<JsonObject>(stack.Simulator.Admin, "_sim/stats"))!;
        return state;
    }

    public bool AtBackEnd(string collection, Guid id) => BackEnd[collection].ContainsKey(id);
}
