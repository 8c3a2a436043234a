namespace OutboxSync.Chaos.Tests.Workload;

/// <summary>
/// The nine resources of one workload unit: a network with two subnets, three ports, a router, the router's
/// interface on the second subnet (a port the API creates) and a security group the first two ports use (the third
/// gets its project's default group).
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
    SecurityGroup,
}
