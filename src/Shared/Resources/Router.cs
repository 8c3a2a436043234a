namespace OutboxSync.Resources;

public sealed class Router : StandardResource
{
    public bool AdminStateUp { get; set; } = true;
    /// <summary>JSON object or null.</summary>
    public string? ExternalGatewayInfo { get; set; }
    /// <summary>JSON array of {"destination","nexthop"}.</summary>
    public string Routes { get; set; } = "[]";

    public override ResourceType Type => ResourceType.Router;
}
