using Npgsql;
using NpgsqlTypes;
using OutboxSync.Api.Errors;
using OutboxSync.Api.Requests;
using OutboxSync.Resources;

namespace OutboxSync.Api.Endpoints;

/// <summary>
/// A port's <c>security_groups</c>: parsing, and the guard that keeps a group's delete from missing a port that
/// names it (migration 018's <c>outbox_require_security_groups</c>: shared advisory locks, then every group must
/// exist, not be being deleted and belong to the port's project).
/// </summary>
public static class PortSecurityGroups
{
    public const string Attribute = "security_groups";

    private const string RequireSql = "select outbox_require_security_groups($1, $2)";

    /// <summary>The SQLSTATE the guard raises for a group that fails it.</summary>
    private const string NotFoundState = "OS404";

    /// <summary>The ids given, in order and without repeats; null when the attribute is absent. Neutron's
    /// convert_to_uuid_list_or_none: null means none.</summary>
    public static List<Guid>? Parse(Attributes a)
    {
        if (!a.Has(Attribute))
        {
            return null;
        }
        if (a.Raw(Attribute) is null)
        {
            return [];
        }
        var list = a.Array(Attribute) ?? [];
        var ids = new List<Guid>();
        foreach (var item in list)
        {
            if (!Attributes.TryParseUuid(item, out var id))
            {
                throw a.Invalid(Attribute, $"'{RequestBody.Truncate(item?.ToJsonString() ?? "None")}' is not a valid UUID");
            }
            if (!ids.Contains(id))
            {
                ids.Add(id);
            }
        }
        return ids;
    }

    /// <summary>Ports owned by the network itself (router interfaces, DHCP) get no groups, as in Neutron.</summary>
    public static bool IsNetworkOwned(Port port) => port.DeviceOwner.StartsWith("network:", StringComparison.Ordinal);

    /// <summary>The guard as a batch command, to go before the port's row in the same transaction.</summary>
    public static NpgsqlBatchCommand RequireCommand(Port port)
    {
        var command = new NpgsqlBatchCommand(RequireSql);
        AddParameters(command.Parameters, port);
        return command;
    }

    /// <summary>The guard on its own, inside an open transaction.</summary>
    public static async Task RequireAsync(NpgsqlConnection connection, Port port, CancellationToken ct)
    {
        await using var command = new NpgsqlCommand(RequireSql, connection);
        AddParameters(command.Parameters, port);
        try
        {
            await command.ExecuteNonQueryAsync(ct);
        }
        catch (PostgresException e) when (IsNotFound(e))
        {
            throw NotFound(e);
        }
    }

    private static void AddParameters(NpgsqlParameterCollection parameters, Port port)
    {
        parameters.Add(new NpgsqlParameter<Guid[]> { TypedValue = [.. port.SecurityGroups], NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Uuid });
        parameters.Add(new NpgsqlParameter<string> { TypedValue = port.ProjectId });
    }

    public static bool IsNotFound(PostgresException e) => e.SqlState == NotFoundState;

    /// <summary>Neutron's SecurityGroupNotFound for the group the guard named.</summary>
    public static NeutronException NotFound(PostgresException e)
    {
        var id = e.MessageText.Split(' ').LastOrDefault(w => Guid.TryParse(w, out _)) ?? "";
        return SecurityGroupsEndpoints.NotFound(id);
    }
}
