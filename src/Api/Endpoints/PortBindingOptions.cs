using System.ComponentModel.DataAnnotations;

namespace OutboxSync.Api.Endpoints;

/// <summary>
/// What a bound port reports to Nova (section <c>Api:PortBinding</c>). The back end plugs the port on its host;
/// Nova reads <c>binding:vif_type</c> and <c>binding:vif_details</c> from the port to choose how to attach the
/// instance's interface, so they must name what the back end's hosts provide.
/// </summary>
public sealed class PortBindingOptions
{
    public const string Section = "Api:PortBinding";

    /// <summary><c>binding:vif_type</c> of a port bound to a host. Default: <c>ovs</c>.</summary>
    [Required(AllowEmptyStrings = false, ErrorMessage = "Api:PortBinding:VifType must not be empty.")]
    [RegularExpression("^(?!unbound$|binding_failed$)[a-z0-9_-]{1,64}$",
        ErrorMessage = "Api:PortBinding:VifType must be 1-64 of a-z, 0-9, '_', '-', and not 'unbound' or 'binding_failed'.")]
    public string VifType { get; set; } = "ovs";

    /// <summary>
    /// <c>binding:vif_details</c> of a port bound to a host: values <c>true</c>/<c>false</c> become booleans,
    /// integers numbers, anything else strings. Configured keys are added to the defaults
    /// <c>port_filter: true</c> and <c>connectivity: l2</c> (set a default key to change it).
    /// </summary>
    public Dictionary<string, string> VifDetails { get; set; } = new(StringComparer.Ordinal)
    {
        ["port_filter"] = "true",
        ["connectivity"] = "l2",
    };
}
