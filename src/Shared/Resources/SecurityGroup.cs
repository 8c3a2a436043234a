namespace OutboxSync.Resources;

/// <summary>A security group (Neutron's <c>security-group</c> extension). Its rules are resources of their own.</summary>
public sealed class SecurityGroup : StandardResource
{
    public const string DefaultName = "default";

    public bool Stateful { get; set; } = true;

    /// <summary>The project's <c>default</c> group, made on first use; at most one per project.</summary>
    public bool IsDefault { get; set; }

    public override ResourceType Type => ResourceType.SecurityGroup;
}
