namespace OutboxSync.Resources;

public sealed class Network : StandardResource
{
    public bool AdminStateUp { get; set; } = true;
    public int Mtu { get; set; } = 1500;
    public bool Shared { get; set; }
    public bool RouterExternal { get; set; }

    public override ResourceType Type => ResourceType.Network;
}
