using System.Text.Json.Nodes;
using Npgsql;
using OutboxSync.Outbox;
using OutboxSync.Resources;

namespace OutboxSync.Worker.Tests.Properties;

/// <summary>
/// The back-end state a sequential run gives: every committed outbox entry applied one at a time in seq order,
/// none coalesced, none skipped, as the contract defines each call (docs/backend-api.md), with the worker's
/// Neutron rule that removing an interface also removes its port.
/// </summary>
public sealed class SequentialBackend
{
    public Dictionary<string, Dictionary<Guid, (long Revision, JsonObject Attributes)>> Objects { get; } = new()
    {
        ["networks"] = [], ["subnets"] = [], ["ports"] = [], ["routers"] = [],
    };

    /// <summary>Interfaces by port id.</summary>
    public Dictionary<Guid, (Guid Router, long Revision)> Interfaces { get; } = [];

    public static async Task<SequentialBackend> FromOutboxAsync(NpgsqlDataSource db)
    {
        var backend = new SequentialBackend();
        await using var cmd = db.CreateCommand("select resource_type, resource_id, operation, revision, payload::text from outbox_entries order by seq");
        await using var r = await cmd.ExecuteReaderAsync();
        while (await r.ReadAsync())
        {
            backend.Apply(r.GetString(0), r.GetGuid(1), r.GetString(2), r.GetInt64(3), JsonNode.Parse(r.GetString(4))!.AsObject());
        }
        return backend;
    }

    private void Apply(string type, Guid id, string operation, long revision, JsonObject payload)
    {
        var objects = Objects[ResourceType.FromName(type)!.Collection];
        switch (operation)
        {
            case OutboxOperation.Create or OutboxOperation.Update:
                objects[id] = (revision, payload);
                break;
            case OutboxOperation.Delete:
                objects.Remove(id);
                break;
            case OutboxOperation.AddInterface:
                Interfaces[id] = (Guid.Parse(payload["router_id"]!.GetValue<string>()), revision);
                break;
            case OutboxOperation.RemoveInterface:
                Interfaces.Remove(id);
                objects.Remove(id);
                break;
            default:
                throw new InvalidOperationException($"unexpected operation {operation}");
        }
    }
}
