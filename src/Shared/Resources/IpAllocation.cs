namespace OutboxSync.Resources;

/// <summary>An address held by a port; (subnet, address) is the table's primary key.</summary>
public sealed class IpAllocation
{
    public Guid SubnetId { get; set; }
    public string IpAddress { get; set; } = "";
    public Guid PortId { get; set; }
}
