namespace OutboxSync.Resources;

public sealed class Port : StandardResource
{
    public const string RouterInterfaceOwner = "network:router_interface";

    public bool AdminStateUp { get; set; } = true;
    public Guid NetworkId { get; set; }
    public string MacAddress { get; set; } = "";
    public string DeviceId { get; set; } = "";
    public string DeviceOwner { get; set; } = "";
    public List<IpAllocation> FixedIps { get; set; } = [];

    /// <summary>When the port gave up its MAC and addresses (its delete was accepted); null while it holds them.</summary>
    public DateTimeOffset? ReleasedAt { get; set; }

    /// <summary>The host the port is bound to (<c>binding:host_id</c>); empty when unbound.</summary>
    public string BindingHostId { get; set; } = "";

    /// <summary><c>binding:vnic_type</c>, one of <see cref="PortBinding.VnicTypes"/>.</summary>
    public string BindingVnicType { get; set; } = PortBinding.DefaultVnicType;

    /// <summary><c>binding:profile</c>, a JSON object (jsonb).</summary>
    public string BindingProfile { get; set; } = "{}";

    /// <summary>The port's security groups, in the order given; empty for none.</summary>
    public List<Guid> SecurityGroups { get; set; } = [];

    public override ResourceType Type => ResourceType.Port;
}
