namespace OutboxSync.Api.Lists;

public enum FieldKind
{
    Text,
    Uuid,
    Bool,
    Int,
    Long,
    Timestamp,
}

/// <summary>A scalar attribute that can be filtered on and sorted by, and the column holding it.</summary>
public sealed record FieldSpec(string Name, string Column, FieldKind Kind, bool Sortable = true);
