namespace OutboxSync.Chaos.Tests.Workload;

/// <summary>
/// What the clients were told about one resource: its id, and the state every accepted call so far implies (its
/// latest name, whether it was deleted). The final check compares this with the database and the back end.
/// </summary>
public sealed class TrackedResource(Guid id, string type, ResourceSlot slot, int unit, string name)
{
    public Guid Id { get; } = id;

    /// <summary>network, subnet, port, router or security_group (an interface is a port).</summary>
    public string Type { get; } = type;

    public ResourceSlot Slot { get; } = slot;

    public int Unit { get; } = unit;

    /// <summary>A router interface exists at the back end only as an interface of <see cref="RouterId"/>.</summary>
    public bool IsInterface => Slot == ResourceSlot.Interface;

    public Guid? RouterId { get; init; }

    public string Name { get; set; } = name;

    public bool Deleted { get; set; }

    /// <summary>A port's last accepted <c>binding:host_id</c> ("" while unbound).</summary>
    public string Host { get; set; } = "";

    /// <summary>A port's groups as its create named them; null when it took its project's default group.</summary>
    public IReadOnlyList<Guid>? SecurityGroups { get; init; }

    public string Collection => CollectionOf(Type);

    /// <summary>The URL collection of a resource type (also the back end's).</summary>
    public static string CollectionOf(string type) => type switch
    {
        "security_group" => "security-groups",
        "security_group_rule" => "security-group-rules",
        _ => type + "s",
    };
}
