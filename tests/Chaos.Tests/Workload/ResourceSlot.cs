namespace OutboxSync.Chaos.Tests.Workload;

/// <summary>
/// The eight resources of one workload unit: a network with two subnets, three ports, a router and the router's
/// interface on the second subnet (a port the API creates).
/// </summary>
public enum ResourceSlot
{
    Network,
    SubnetA,
    SubnetB,
    Port1,
    Port2,
    Port3,
    Router,
    Interface,
}
