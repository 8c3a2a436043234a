using Npgsql;
using NpgsqlTypes;
using OutboxSync.Resources;

namespace OutboxSync.Api.Accept;

/// <summary>
/// The INSERTs of the raw accept paths (network and port creates), one per row, for an <see cref="NpgsqlBatch"/>
/// that also carries the rows' outbox entries. Columns are listed in full: the values are the ones the response
/// renders, not the table's defaults.
/// </summary>
public static class ResourceInserts
{
    private const string NetworkSql = """
        insert into networks (id, project_id, name, description, admin_state_up, status, status_reason, revision_number,
                              applied_revision, created_at, updated_at, tags, mtu, shared, router_external)
        values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)
        """;

    private const string PortSql = """
        insert into ports (id, project_id, name, description, admin_state_up, status, status_reason, revision_number,
                           applied_revision, created_at, updated_at, tags, network_id, mac_address, device_id, device_owner,
                           binding_host_id, binding_vnic_type, binding_profile, security_groups)
        values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20)
        """;

    // The (subnet_id, ip_address) primary key is IPAM's guard: a concurrent create that picked the same address
    // fails here, and AcceptTransaction runs that request again.
    private const string IpAllocationSql = "insert into ip_allocations (subnet_id, ip_address, port_id) values ($1, $2, $3)";

    public static NpgsqlBatchCommand Network(Network n)
    {
        var command = new NpgsqlBatchCommand(NetworkSql);
        AddStandard(command.Parameters, n, n.AdminStateUp);
        command.Parameters.Add(new NpgsqlParameter<int> { TypedValue = n.Mtu });
        command.Parameters.Add(new NpgsqlParameter<bool> { TypedValue = n.Shared });
        command.Parameters.Add(new NpgsqlParameter<bool> { TypedValue = n.RouterExternal });
        return command;
    }

    /// <summary>The port's row followed by one row per fixed IP.</summary>
    public static IEnumerable<NpgsqlBatchCommand> Port(Port p)
    {
        var command = new NpgsqlBatchCommand(PortSql);
        AddStandard(command.Parameters, p, p.AdminStateUp);
        command.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = p.NetworkId });
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = p.MacAddress });
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = p.DeviceId });
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = p.DeviceOwner });
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = p.BindingHostId });
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = p.BindingVnicType });
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = p.BindingProfile, NpgsqlDbType = NpgsqlDbType.Jsonb });
        command.Parameters.Add(new NpgsqlParameter<List<Guid>> { TypedValue = p.SecurityGroups, NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Uuid });
        yield return command;
        foreach (var ip in p.FixedIps)
        {
            yield return new NpgsqlBatchCommand(IpAllocationSql)
            {
                Parameters =
                {
                    new NpgsqlParameter<Guid> { TypedValue = ip.SubnetId },
                    new NpgsqlParameter<string> { TypedValue = ip.IpAddress },
                    new NpgsqlParameter<Guid> { TypedValue = ip.PortId },
                },
            };
        }
    }

    /// <summary>$1–$12: the columns networks and ports share, in the order the statements above list them.</summary>
    private static void AddStandard(NpgsqlParameterCollection parameters, StandardResource r, bool adminStateUp)
    {
        parameters.Add(new NpgsqlParameter<Guid> { TypedValue = r.Id });
        parameters.Add(new NpgsqlParameter<string> { TypedValue = r.ProjectId });
        parameters.Add(new NpgsqlParameter<string> { TypedValue = r.Name });
        parameters.Add(new NpgsqlParameter<string> { TypedValue = r.Description });
        parameters.Add(new NpgsqlParameter<bool> { TypedValue = adminStateUp });
        parameters.Add(new NpgsqlParameter<string> { TypedValue = r.Status });
        parameters.Add(new NpgsqlParameter { Value = (object?)r.StatusReason ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text });
        parameters.Add(new NpgsqlParameter<long> { TypedValue = r.RevisionNumber });
        parameters.Add(new NpgsqlParameter<long> { TypedValue = r.AppliedRevision });
        parameters.Add(new NpgsqlParameter<DateTimeOffset> { TypedValue = r.CreatedAt });
        parameters.Add(new NpgsqlParameter<DateTimeOffset> { TypedValue = r.UpdatedAt });
        parameters.Add(new NpgsqlParameter<List<string>> { TypedValue = r.Tags, NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text });
    }
}
