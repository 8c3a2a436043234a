using System.Text.Json;

namespace OutboxSync.Simulator.Gateway;

/// <summary>
/// Reads which objects a new object's attributes point at. Subnets and ports need <c>network_id</c>, subnets may
/// name a <c>subnetpool_id</c>,
/// ports may list <c>fixed_ips[].subnet_id</c> and <c>security_groups[]</c>, router interfaces need <c>subnet_id</c>,
/// security group rules need <c>security_group_id</c> and may name a <c>remote_group_id</c>.
/// </summary>
internal static class ParentLinks
{
    /// <summary>The parents named by <paramref name="attributes"/>, or a bad-request message.</summary>
    public static (IReadOnlyList<ResourceRef> Parents, string? Problem) Of(string collection, JsonElement attributes)
    {
        var parents = new List<ResourceRef>();
        string? problem = collection switch
        {
            Collections.Subnets => Required(attributes, "network_id", Collections.Networks, parents)
                ?? Optional(attributes, "subnetpool_id", Collections.SubnetPools, parents),
            Collections.Ports => Required(attributes, "network_id", Collections.Networks, parents)
                ?? FixedIps(attributes, parents) ?? SecurityGroups(attributes, parents),
            Collections.SecurityGroupRules => Required(attributes, "security_group_id", Collections.SecurityGroups, parents)
                ?? Optional(attributes, "remote_group_id", Collections.SecurityGroups, parents),
            Collections.Interfaces => Required(attributes, "subnet_id", Collections.Subnets, parents),
            _ => null,
        };
        // A rule whose remote group is its own group names that parent once.
        return (parents.Distinct().ToList(), problem);
    }

    private static string? Optional(JsonElement attributes, string field, string parentCollection, List<ResourceRef> parents) =>
        !attributes.TryGetProperty(field, out var value) || value.ValueKind == JsonValueKind.Null
            ? null
            : Required(attributes, field, parentCollection, parents);

    private static string? SecurityGroups(JsonElement attributes, List<ResourceRef> parents)
    {
        if (!attributes.TryGetProperty("security_groups", out var groups) || groups.ValueKind == JsonValueKind.Null)
        {
            return null;
        }
        if (groups.ValueKind != JsonValueKind.Array)
        {
            return "attributes.security_groups must be an array";
        }
        foreach (var group in groups.EnumerateArray())
        {
            if (group.ValueKind != JsonValueKind.String || string.IsNullOrEmpty(group.GetString()))
            {
                return "attributes.security_groups items must be non-empty strings";
            }
            parents.Add(new ResourceRef(Collections.SecurityGroups, group.GetString()!));
        }
        return null;
    }

    private static string? Required(JsonElement attributes, string field, string parentCollection, List<ResourceRef> parents)
    {
        if (!attributes.TryGetProperty(field, out var value) || value.ValueKind != JsonValueKind.String
            || string.IsNullOrEmpty(value.GetString()))
        {
            return $"attributes.{field} is required and must be a non-empty string";
        }

        parents.Add(new ResourceRef(parentCollection, value.GetString()!));
        return null;
    }

    private static string? FixedIps(JsonElement attributes, List<ResourceRef> parents)
    {
        if (!attributes.TryGetProperty("fixed_ips", out var fixedIps) || fixedIps.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        if (fixedIps.ValueKind != JsonValueKind.Array)
        {
            return "attributes.fixed_ips must be an array";
        }

        foreach (var fixedIp in fixedIps.EnumerateArray())
        {
            if (fixedIp.ValueKind != JsonValueKind.Object)
            {
                return "attributes.fixed_ips items must be objects";
            }

            var problem = Required(fixedIp, "subnet_id", Collections.Subnets, parents);
            if (problem is not null)
            {
                return problem.Replace("attributes.", "attributes.fixed_ips[].", StringComparison.Ordinal);
            }
        }

        return null;
    }
}
