using FsCheck;
using FsCheck.Fluent;

namespace OutboxSync.Worker.Tests.Properties;

public enum CallKind
{
    CreateNetwork, UpdateNetwork, DeleteNetwork,
    CreateSubnet, UpdateSubnet, DeleteSubnet,
    CreatePort, UpdatePort, DeletePort,
    CreateRouter, UpdateRouter, DeleteRouter,
    AddInterface, AddInterfaceByPort, UpdateInterface, RemoveInterface,
    /// <summary>Not an API call: one drain pass of replica <see cref="FamilyCall.Arg"/>, awaited when Slot is 1.</summary>
    Drain,
}

/// <summary>
/// One generated call: an API call on a slot of the family (subnet 0-1, port 0-2, interface by subnet 0-1), or a
/// drain pass. Calls name slots, not ids, so any subsequence (what shrinking produces) is still meaningful: a call
/// the API would refuse at that point is refused by <see cref="NetworkFamily"/> and writes nothing.
/// </summary>
public sealed record FamilyCall(CallKind Kind, int Slot = 0, int Arg = 0)
{
    public const int Subnets = 2;
    public const int Ports = 3;
    public const int Replicas = 3;

    /// <summary>UpdatePort's Arg: keep the addresses; 1 + s moves them to subnet s; this value drops them.</summary>
    public const int DropAddresses = Subnets + 1;

    public override string ToString() => Kind switch
    {
        CallKind.Drain => $"Drain(r{Arg}{(Slot == 1 ? ",wait" : "")})",
        CallKind.CreatePort => $"CreatePort(p{Slot}{(Arg >= 0 ? $",s{Arg}" : "")})",
        CallKind.UpdatePort => $"UpdatePort(p{Slot}{(Arg == 0 ? "" : Arg == DropAddresses ? ",no-ip" : $",to-s{Arg - 1}")})",
        CallKind.CreateSubnet or CallKind.UpdateSubnet or CallKind.DeleteSubnet
            or CallKind.AddInterface or CallKind.UpdateInterface or CallKind.RemoveInterface => $"{Kind}(s{Slot})",
        CallKind.DeletePort or CallKind.AddInterfaceByPort => $"{Kind}(p{Slot})",
        _ => Kind.ToString(),
    };

    /// <summary>Creates weigh more than deletes so most runs build a family before tearing parts of it down.</summary>
    public static Gen<FamilyCall> Generator()
    {
        var subnet = Gen.Choose(0, Subnets - 1);
        var port = Gen.Choose(0, Ports - 1);
        return Gen.Frequency(
            (3, Gen.Constant(new FamilyCall(CallKind.CreateNetwork))),
            (2, Gen.Constant(new FamilyCall(CallKind.UpdateNetwork))),
            (1, Gen.Constant(new FamilyCall(CallKind.DeleteNetwork))),
            (4, subnet.Select(s => new FamilyCall(CallKind.CreateSubnet, s))),
            (2, subnet.Select(s => new FamilyCall(CallKind.UpdateSubnet, s))),
            (2, subnet.Select(s => new FamilyCall(CallKind.DeleteSubnet, s))),
            (4, from p in port from s in Gen.Choose(-1, Subnets - 1) select new FamilyCall(CallKind.CreatePort, p, s)),
            (3, from p in port from a in Gen.Frequency((1, Gen.Constant(0)), (1, Gen.Choose(1, DropAddresses))) select new FamilyCall(CallKind.UpdatePort, p, a)),
            (2, port.Select(p => new FamilyCall(CallKind.DeletePort, p))),
            (2, Gen.Constant(new FamilyCall(CallKind.CreateRouter))),
            (1, Gen.Constant(new FamilyCall(CallKind.UpdateRouter))),
            (1, Gen.Constant(new FamilyCall(CallKind.DeleteRouter))),
            (2, subnet.Select(s => new FamilyCall(CallKind.AddInterface, s))),
            (3, port.Select(p => new FamilyCall(CallKind.AddInterfaceByPort, p))),
            (1, subnet.Select(s => new FamilyCall(CallKind.UpdateInterface, s))),
            (3, subnet.Select(s => new FamilyCall(CallKind.RemoveInterface, s))),
            (2, from r in Gen.Choose(0, Replicas - 1) from wait in Gen.Choose(0, 1) select new FamilyCall(CallKind.Drain, wait, r)));
    }

    /// <summary>
    /// A step: the first of its calls the API accepts (a client that gets a 409 or 404 tries something else), so
    /// most steps change something although calls are generated without knowing the family's state.
    /// </summary>
    public static Gen<FamilyCall[]> Step() => Generator().ArrayOf(3);
}
