using OutboxSync.Worker.Tests.Support;

namespace OutboxSync.Worker.Tests.Properties;

/// <summary>
/// The API's view of one small family (a network, its subnets and ports, a router and its interfaces): which
/// calls it accepts, applied through <see cref="Scenario"/> (rows + outbox entries in one transaction, as the API
/// writes them). A slot is empty once its resource's delete was accepted (the row may linger as PENDING_DELETE).
/// The rules only accept what the API accepts whatever the worker has confirmed so far, so the accepted sequence
/// does not depend on drain timing: where the API's answer depends on the drain (re-adding an interface on a
/// subnet whose removed interface row may still exist), the call is refused.
/// </summary>
public sealed class NetworkFamily(Scenario scenario)
{
    private sealed record PortSlot(Guid Id, Guid? Subnet, bool IsInterface);

    private Guid? _network;
    private readonly Guid?[] _subnets = new Guid?[FamilyCall.Subnets];
    private readonly PortSlot?[] _ports = new PortSlot?[FamilyCall.Ports];
    private Guid? _router;
    private readonly Guid?[] _interfacePorts = new Guid?[FamilyCall.Subnets];
    private readonly HashSet<(Guid Router, Guid Subnet)> _everAttached = [];
    private int _names;

    /// <summary>Ids of the resources whose delete has not been accepted, by table.</summary>
    public Dictionary<string, List<Guid>> Live()
    {
        var ports = _ports.Where(p => p is not null).Select(p => p!.Id).Concat(_interfacePorts.Where(i => i is not null).Select(i => i!.Value));
        return new()
        {
            ["networks"] = _network is { } n ? [n] : [],
            ["subnets"] = _subnets.Where(s => s is not null).Select(s => s!.Value).ToList(),
            ["ports"] = ports.ToList(),
            ["routers"] = _router is { } r ? [r] : [],
        };
    }

    /// <summary>Plain ports (back-end port objects) and interface ports (back-end interfaces) whose delete was not accepted.</summary>
    public (List<Guid> PortObjects, List<(Guid Router, Guid Port)> Interfaces) LiveAtBackEnd()
    {
        var interfaces = _interfacePorts.Where(i => i is not null).Select(i => (_router!.Value, i!.Value))
            .Concat(_ports.Where(p => p is { IsInterface: true }).Select(p => (_router!.Value, p!.Id))).ToList();
        // A port made into an interface keeps its port object at the back end until the interface is removed.
        return (_ports.Where(p => p is not null).Select(p => p!.Id).ToList(), interfaces);
    }

    /// <summary>Runs <paramref name="call"/> if the API would accept it now; returns whether it did.</summary>
    public async Task<bool> ApplyAsync(FamilyCall call)
    {
        var name = $"v{++_names}";
        return call.Kind switch
        {
            CallKind.CreateNetwork when _network is null => await Do(async () => _network = await scenario.CreateNetworkAsync(name)),
            CallKind.UpdateNetwork when _network is { } net => await Do(() => scenario.UpdateNetworkAsync(net, name)),
            CallKind.DeleteNetwork when _network is { } net && _ports.All(p => p is null) && _interfacePorts.All(i => i is null) =>
                await Do(async () =>
                {
                    // Neutron deletes the network's subnets with it (their deletes are ordered first).
                    await scenario.DeleteNetworkAsync(net);
                    Array.Fill(_subnets, null);
                    _network = null;
                }),

            CallKind.CreateSubnet when _network is { } net && _subnets[call.Slot] is null =>
                await Do(async () => _subnets[call.Slot] = await scenario.CreateSubnetAsync(net, name)),
            CallKind.UpdateSubnet when _subnets[call.Slot] is { } subnet => await Do(() => scenario.UpdateSubnetAsync(subnet, name)),
            CallKind.DeleteSubnet when _subnets[call.Slot] is { } subnet && !InUse(subnet) =>
                await Do(async () =>
                {
                    await scenario.DeleteSubnetAsync(subnet, _network!.Value);
                    _subnets[call.Slot] = null;
                }),

            CallKind.CreatePort when _network is { } net && _ports[call.Slot] is null && (call.Arg < 0 || _subnets[call.Arg] is not null) =>
                await Do(async () =>
                {
                    var subnet = call.Arg < 0 ? null : _subnets[call.Arg];
                    _ports[call.Slot] = new PortSlot(await scenario.CreatePortAsync(net, subnet, name), subnet, false);
                }),
            CallKind.UpdatePort when _ports[call.Slot] is { } port && (call.Arg == 0 || (!port.IsInterface && NewAddress(call.Arg, out _))) =>
                await Do(async () =>
                {
                    if (call.Arg == 0)
                    {
                        await scenario.ChangePortAsync(port.Id, name);
                        return;
                    }
                    NewAddress(call.Arg, out var subnet);
                    await scenario.ChangePortAsync(port.Id, name, subnet is { } s ? [s] : []);
                    _ports[call.Slot] = port with { Subnet = subnet };
                }),
            CallKind.DeletePort when _ports[call.Slot] is { IsInterface: false } port =>
                await Do(async () =>
                {
                    await scenario.DeletePortAsync(port.Id);
                    _ports[call.Slot] = null;
                }),

            CallKind.CreateRouter when _router is null => await Do(async () => _router = await scenario.CreateRouterAsync(name)),
            CallKind.UpdateRouter when _router is { } router => await Do(() => scenario.UpdateRouterAsync(router, name)),
            CallKind.DeleteRouter when _router is { } router && _interfacePorts.All(i => i is null) && _ports.All(p => p is not { IsInterface: true }) =>
                await Do(async () =>
                {
                    await scenario.DeleteRouterAsync(router);
                    _router = null;
                }),

            CallKind.AddInterface when _router is { } router && _subnets[call.Slot] is { } subnet && CanAttach(router, subnet) =>
                await Do(async () =>
                {
                    _interfacePorts[call.Slot] = await scenario.AddRouterInterfaceAsync(router, subnet, _network!.Value);
                    _everAttached.Add((router, subnet));
                }),
            CallKind.AddInterfaceByPort when _router is { } router && _ports[call.Slot] is { IsInterface: false, Subnet: { } subnet } port && CanAttach(router, subnet) =>
                await Do(async () =>
                {
                    await scenario.AddRouterInterfaceByPortAsync(router, port.Id);
                    _ports[call.Slot] = port with { IsInterface = true };
                    _everAttached.Add((router, subnet));
                }),
            CallKind.UpdateInterface when _interfacePorts[call.Slot] is { } interfacePort => await Do(() => scenario.ChangePortAsync(interfacePort, name)),
            CallKind.RemoveInterface when _subnets[call.Slot] is { } subnet && InterfaceOn(subnet) is { } found =>
                await Do(async () =>
                {
                    await scenario.RemoveRouterInterfaceAsync(_router!.Value, found.Port, subnet, _network!.Value);
                    if (found.PortSlot is { } p)
                    {
                        _ports[p] = null;
                    }
                    else
                    {
                        _interfacePorts[call.Slot] = null;
                    }
                }),
            _ => false,
        };
    }

    private static async Task<bool> Do(Func<Task> write)
    {
        await write();
        return true;
    }

    /// <summary>SubnetInUse: a live port (plain or interface) has an address on it.</summary>
    private bool InUse(Guid subnet) =>
        _ports.Any(p => p?.Subnet == subnet) || Array.IndexOf(_subnets, subnet) is var s && s >= 0 && _interfacePorts[s] is not null;

    private bool NewAddress(int arg, out Guid? subnet)
    {
        subnet = null;
        if (arg == FamilyCall.DropAddresses)
        {
            return true;
        }
        subnet = _subnets[arg - 1];
        return subnet is not null;
    }

    /// <summary>The router has no interface on the subnet, and never had one in this run (its row may linger).</summary>
    private bool CanAttach(Guid router, Guid subnet) => !_everAttached.Contains((router, subnet)) && InterfaceOn(subnet) is null;

    private (Guid Port, int? PortSlot)? InterfaceOn(Guid subnet)
    {
        var s = Array.IndexOf(_subnets, subnet);
        if (s >= 0 && _interfacePorts[s] is { } port)
        {
            return (port, null);
        }
        var p = Array.FindIndex(_ports, x => x is { IsInterface: true } && x.Subnet == subnet);
        return p >= 0 ? (_ports[p]!.Id, p) : null;
    }
}
