namespace OutboxSync.Resources;

/// <summary>A router's interface on a subnet, made through (and ordered under) its port.</summary>
public sealed class RouterInterface
{
    public Guid PortId { get; set; }
    public Guid RouterId { get; set; }
    public Guid SubnetId { get; set; }
}
