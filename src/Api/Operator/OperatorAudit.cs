using System.Text.Json.Nodes;
using Npgsql;
using NpgsqlTypes;

namespace OutboxSync.Api.Operator;

/// <summary>Records operator actions in the caller's transaction, so an action and its audit row commit together.</summary>
public static class OperatorAudit
{
    public static async Task RecordAsync(NpgsqlConnection connection, NpgsqlTransaction? tx, string actor, string action, string target,
        JsonObject details, CancellationToken ct)
    {
        await using var cmd = new NpgsqlCommand(
            "insert into operator_audit (actor, action, target, details) values (@actor, @action, @target, @details)", connection, tx);
        cmd.Parameters.AddWithValue("actor", actor);
        cmd.Parameters.AddWithValue("action", action);
        cmd.Parameters.AddWithValue("target", target);
        cmd.Parameters.Add(new NpgsqlParameter("details", NpgsqlDbType.Jsonb) { Value = details.ToJsonString() });
        await cmd.ExecuteNonQueryAsync(ct);
    }
}
