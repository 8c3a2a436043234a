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

    public override ResourceType Type => ResourceType.Port;
}
