using System.Globalization;
using System.Text;
using Microsoft.EntityFrameworkCore;
using Npgsql;
using NpgsqlTypes;
using OutboxSync.Api.Auth;
using OutboxSync.Api.Errors;
using OutboxSync.Resources;

namespace OutboxSync.Api.Lists;

/// <summary>
/// Runs a <see cref="ListRequest"/> as one parameterised SQL query: tenant visibility first, then filters,
/// then keyset pagination on the sort keys (id always last, so pages are stable).
/// </summary>
public sealed class ResourceLister(NpgsqlDataSource dataSource)
{
    public sealed record Page<T>(IReadOnlyList<T> Items, bool HasMore);

    public async Task<Page<T>> ListAsync<T>(DbSet<T> set, ResourceType type, ListRequest request, TenantContext tenant,
        bool hidePendingDeletes, CancellationToken ct) where T : StandardResource
    {
        var parameters = new List<NpgsqlParameter>();
        var where = new List<string> { Visibility(type, tenant, parameters) };
        if (hidePendingDeletes)
        {
            where.Add($"t.status <> '{ResourceStatus.PendingDelete}'");
        }

        foreach (var (field, values) in request.Filters)
        {
            where.Add(FilterSql(field, values, parameters));
        }
        if (request.TagsAll is { } all)
        {
            where.Add($"t.tags @> {Add(parameters, all.ToArray(), NpgsqlDbType.Array | NpgsqlDbType.Text)}");
        }
        if (request.TagsAny is { } any)
        {
            where.Add($"t.tags && {Add(parameters, any.ToArray(), NpgsqlDbType.Array | NpgsqlDbType.Text)}");
        }
        if (request.NotTagsAll is { } notAll)
        {
            where.Add($"not (t.tags @> {Add(parameters, notAll.ToArray(), NpgsqlDbType.Array | NpgsqlDbType.Text)})");
        }
        if (request.NotTagsAny is { } notAny)
        {
            where.Add($"not (t.tags && {Add(parameters, notAny.ToArray(), NpgsqlDbType.Array | NpgsqlDbType.Text)})");
        }
        if (request.ChangedSince is { } since)
        {
            where.Add($"t.updated_at >= {Add(parameters, since, NpgsqlDbType.TimestampTz)}");
        }
        foreach (var (key, value) in request.FixedIps)
        {
            var condition = key switch
            {
                "subnet_id" => $"a.subnet_id::text = {Add(parameters, value, NpgsqlDbType.Text)}",
                "ip_address" => $"a.ip_address = {Add(parameters, value, NpgsqlDbType.Text)}",
                _ => $"strpos(a.ip_address, {Add(parameters, value, NpgsqlDbType.Text)}) > 0",
            };
            where.Add($"exists (select 1 from ip_allocations a where a.port_id = t.id and {condition})");
        }

        var keys = request.Sort.ToList();
        if (!keys.Any(k => k.Field.Column == "id"))
        {
            keys.Add((ResourceFields.For(type)["id"], false));
        }
        if (request.PageReverse)
        {
            keys = keys.Select(k => (k.Field, !k.Descending)).ToList();
        }
        if (request.Marker is { } marker)
        {
            where.Add(await KeysetAsync(type, keys, marker, request.RawMarker!, tenant, parameters, ct));
        }

        var sql = new StringBuilder($"select t.* from {type.Table} t where ");
        sql.AppendJoin(" and ", where);
        sql.Append(" order by ");
        sql.AppendJoin(", ", keys.Select(k => $"t.{k.Field.Column} {(k.Descending ? "desc" : "asc")}"));
        if (request.Limit is { } limit)
        {
            sql.Append(CultureInfo.InvariantCulture, $" limit {limit + 1}");
        }

        // Not composed further: EF would wrap the SQL in a subquery and lose its ORDER BY.
        var items = await set.FromSqlRaw(sql.ToString(), parameters.Cast<object>().ToArray()).AsNoTracking().ToListAsync(ct);
        var hasMore = request.Limit is { } l2 && items.Count > l2;
        if (hasMore)
        {
            items.RemoveAt(items.Count - 1);
        }
        if (request.PageReverse)
        {
            items.Reverse();
        }
        return new Page<T>(items, hasMore);
    }

    /// <summary>
    /// What a caller may see, as Neutron's default policy: their own project's rows, plus networks that are shared
    /// or external and those networks' subnets; admin sees all. <see cref="Endpoints.ResourceLookup"/>'s shows hold
    /// the same rule in LINQ.
    /// </summary>
    public static string Visibility(ResourceType type, TenantContext tenant, List<NpgsqlParameter> parameters)
    {
        if (tenant.IsAdmin)
        {
            return "true";
        }
        var p = Add(parameters, tenant.ProjectId, NpgsqlDbType.Text);
        return type.Name switch
        {
            "network" => $"(t.project_id = {p} or t.shared or t.router_external)",
            "subnet" => $"(t.project_id = {p} or exists (select 1 from networks n where n.id = t.network_id and (n.shared or n.router_external)))",
            "subnetpool" => $"(t.project_id = {p} or t.shared)",
            _ => $"t.project_id = {p}",
        };
    }

    public static string Ownership(TenantContext tenant, List<NpgsqlParameter> parameters) =>
        tenant.IsAdmin ? "true" : $"t.project_id = {Add(parameters, tenant.ProjectId, NpgsqlDbType.Text)}";

    private static string FilterSql(FieldSpec field, string[] values, List<NpgsqlParameter> parameters) => field.Kind switch
    {
        FieldKind.Bool => $"{field.Sql} = any({Add(parameters, values.Select(bool.Parse).ToArray(), NpgsqlDbType.Array | NpgsqlDbType.Boolean)})",
        FieldKind.Int => $"{field.Sql} = any({Add(parameters, values.Select(v => int.Parse(v, CultureInfo.InvariantCulture)).ToArray(), NpgsqlDbType.Array | NpgsqlDbType.Integer)})",
        FieldKind.Long => $"{field.Sql} = any({Add(parameters, values.Select(v => long.Parse(v, CultureInfo.InvariantCulture)).ToArray(), NpgsqlDbType.Array | NpgsqlDbType.Bigint)})",
        FieldKind.UuidList => $"{field.Sql} && {Add(parameters, values.Select(Guid.Parse).ToArray(), NpgsqlDbType.Array | NpgsqlDbType.Uuid)}",
        _ => $"{field.Sql}::text = any({Add(parameters, values, NpgsqlDbType.Array | NpgsqlDbType.Text)})",
    };

    private async Task<string> KeysetAsync(ResourceType type, List<(FieldSpec Field, bool Descending)> keys, Guid marker,
        string rawMarker, TenantContext tenant, List<NpgsqlParameter> parameters, CancellationToken ct)
    {
        // The marker row is looked up under the caller's visibility: another tenant's id is "not found".
        var lookupParams = new List<NpgsqlParameter>();
        var visibility = Visibility(type, tenant, lookupParams);
        var idParam = Add(lookupParams, marker, NpgsqlDbType.Uuid);
        await using var cmd = dataSource.CreateCommand(
            $"select {string.Join(", ", keys.Select(k => "t." + k.Field.Column))} from {type.Table} t where t.id = {idParam} and {visibility}");
        cmd.Parameters.AddRange(lookupParams.ToArray());
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        if (!await reader.ReadAsync(ct))
        {
            throw NeutronException.NotFound(type.Name, Requests.RequestBody.Truncate(rawMarker));
        }
        var values = new object[keys.Count];
        reader.GetValues(values);

        // (k1 > m1) or (k1 = m1 and k2 > m2) or ... with the comparison flipped for descending keys.
        var disjuncts = new List<string>();
        for (var i = 0; i < keys.Count; i++)
        {
            var parts = new List<string>();
            for (var j = 0; j < i; j++)
            {
                parts.Add($"t.{keys[j].Field.Column} = {AddValue(parameters, values[j])}");
            }
            parts.Add($"t.{keys[i].Field.Column} {(keys[i].Descending ? "<" : ">")} {AddValue(parameters, values[i])}");
            disjuncts.Add("(" + string.Join(" and ", parts) + ")");
        }
        return "(" + string.Join(" or ", disjuncts) + ")";
    }

    private static string Add(List<NpgsqlParameter> parameters, object value, NpgsqlDbType type)
    {
        var name = "p" + parameters.Count.ToString(CultureInfo.InvariantCulture);
        parameters.Add(new NpgsqlParameter(name, type) { Value = value });
        return "@" + name;
    }

    private static string AddValue(List<NpgsqlParameter> parameters, object value)
    {
        var name = "p" + parameters.Count.ToString(CultureInfo.InvariantCulture);
        parameters.Add(new NpgsqlParameter(name, value));
        return "@" + name;
    }
}
