namespace OutboxSync.Api.Lists;

public enum FieldKind
{
    Text,
    Uuid,
    Bool,
    Int,
    Long,
    Timestamp,
    /// <summary>A uuid[] column; a filter matches rows whose list holds any of the values given.</summary>
    UuidList,
}

/// <summary>
/// A scalar attribute that can be filtered on and sorted by, and the column holding it; <paramref name="Expression"/>
/// replaces the column for an attribute derived from another table (a subnet's <c>shared</c> is its network's).
/// <paramref name="AdminOnly"/>: an attribute only admin may see (Neutron's policy), so only admin may filter or sort by it.
/// </summary>
public sealed record FieldSpec(string Name, string Column, FieldKind Kind, bool Sortable = true, string? Expression = null, bool AdminOnly = false)
{
    /// <summary>The SQL for the attribute's value in a statement over the resource's table aliased <c>t</c>.</summary>
    public string Sql => Expression ?? $"t.{Column}";
}
