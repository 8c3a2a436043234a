namespace OutboxSync.Resources;

/// <summary>Neutron's port binding attributes (neutron-lib's <c>portbindings</c> definition): names and values.</summary>
public static class PortBinding
{
    public const string HostId = "binding:host_id";
    public const string VnicType = "binding:vnic_type";
    public const string Profile = "binding:profile";
    public const string VifType = "binding:vif_type";
    public const string VifDetails = "binding:vif_details";

    public const string DefaultVnicType = "normal";

    /// <summary>What <c>binding:vif_type</c> says of a port with no host, and of a bound port the back end refused.</summary>
    public const string Unbound = "unbound";
    public const string BindingFailed = "binding_failed";

    /// <summary>neutron-lib's <c>VNIC_TYPES</c>.</summary>
    public static readonly IReadOnlyList<string> VnicTypes =
    [
        "normal", "direct", "macvtap", "baremetal", "direct-physical", "virtio-forwarder", "smart-nic", "vdpa",
        "accelerator-direct", "accelerator-direct-physical", "remote-managed",
    ];
}
