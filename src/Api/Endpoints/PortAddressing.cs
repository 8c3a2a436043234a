using System.Net;
using System.Text.Json.Nodes;
using Microsoft.EntityFrameworkCore;
using OutboxSync.Api.Errors;
using OutboxSync.Api.Requests;
using OutboxSync.Ipam;
using OutboxSync.Persistence;
using OutboxSync.Resources;

namespace OutboxSync.Api.Endpoints;

/// <summary>
/// IPAM inside the accept transaction, optimistic like Neutron's own IPAM: an address is picked at random (in a
/// large pool, among random samples the database says are free; in a small one, among the lowest free ones),
/// without locking the subnet, so concurrent port creates do not queue behind each other
/// inside open transactions. The (subnet_id, ip_address) primary key is the guard: a collision fails that
/// transaction and <see cref="Accept.AcceptTransaction"/> runs the request again. Subnet rows are locked FOR SHARE
/// only, which blocks a concurrent subnet delete from missing the new allocation but not other port creates.
/// </summary>
public sealed class PortAddressing(OutboxSyncDbContext db)
{
    /// <summary>Free addresses an exact pick is spread over; wider means fewer collisions between concurrent creates.</summary>
    private const int CandidateSpread = 16;

    /// <summary>Random addresses asked about per round in a large pool. With a pool 90 % full, two rounds of 16
    /// find nothing free once in 30 allocations (0.9^32); only then are the allocations loaded.</summary>
    private const int SampleSize = 16;

    private const int SampleRounds = 2;

    public sealed record Request(Guid? SubnetId, IPAddress? Address);

    public static List<Request>? ParseFixedIps(Attributes a) =>
        a.Array("fixed_ips", 20) is { } array ? ParseFixedIps(a, "fixed_ips", array) : null;

    /// <summary>A fixed_ips list; a router gateway's external_fixed_ips has the same shape.</summary>
    public static List<Request> ParseFixedIps(Attributes a, string name, JsonArray array)
    {
        var requests = new List<Request>();
        foreach (var item in array)
        {
            if (item is not JsonObject o || o.Count == 0 || o.Any(p => p.Key is not ("subnet_id" or "ip_address")))
            {
                throw a.Invalid(name, "each entry may only have 'subnet_id' and/or 'ip_address'");
            }
            Guid? subnetId = null;
            IPAddress? address = null;
            if (o["subnet_id"] is { } s)
            {
                subnetId = Attributes.TryParseUuid(s, out var g)
                    ? g
                    : throw a.Invalid(name, $"'{RequestBody.Truncate(s.ToJsonString())}' is not a valid UUID");
            }
            if (o["ip_address"] is { } i)
            {
                address = i is JsonValue iv && iv.TryGetValue(out string? it) && IpAddressMath.TryParse(it, out var ip)
                    ? ip
                    : throw a.Invalid(name, $"'{RequestBody.Truncate(i.ToJsonString())}' is not a valid IP address");
            }
            if (subnetId is null && address is null)
            {
                throw a.Invalid(name, "each entry needs 'subnet_id' or 'ip_address'");
            }
            requests.Add(new Request(subnetId, address));
        }
        return requests;
    }

    /// <param name="allowGateway">Router interfaces take the gateway address; ordinary ports may not.</param>
    public async Task<List<IpAllocation>> AllocateAsync(Network network, Guid portId, IReadOnlyList<Request>? requested,
        bool allowGateway, CancellationToken ct)
    {
        var subnets = await db.Subnets
            .FromSqlRaw("select * from subnets where network_id = {0} and status <> 'PENDING_DELETE' order by id for share", network.Id)
            .ToListAsync(ct);
        var result = new List<IpAllocation>();

        if (requested is null)
        {
            // Neutron's default: one address per IP version, from the first subnet (oldest) that has room.
            foreach (var version in subnets.Select(s => s.IpVersion).Distinct().Order())
            {
                IPAddress? address = null;
                Subnet? from = null;
                foreach (var subnet in subnets.Where(s => s.IpVersion == version).OrderBy(s => s.CreatedAt).ThenBy(s => s.Id))
                {
                    address = await NextFreeAsync(subnet, result, ct);
                    if (address is not null)
                    {
                        from = subnet;
                        break;
                    }
                }
                if (address is null || from is null)
                {
                    throw Exhausted(network);
                }
                result.Add(new IpAllocation { SubnetId = from.Id, IpAddress = address.ToString(), PortId = portId });
            }
            return result;
        }

        foreach (var request in requested)
        {
            var subnet = request.SubnetId is { } sid
                ? subnets.FirstOrDefault(s => s.Id == sid)
                  ?? throw NeutronException.BadRequest($"Invalid input for operation: Failed to create port on network {network.Id}, because fixed_ips included invalid subnet {sid}.")
                : subnets.FirstOrDefault(s => SubnetCidr.TryParse(s.Cidr, out var c, out _) && c.Contains(request.Address!))
                  ?? throw NeutronException.BadRequest($"Invalid input for operation: IP address {request.Address} is not a valid IP for any of the subnets on the specified network.");
            SubnetCidr.TryParse(subnet.Cidr, out var cidr, out _);
            if (request.Address is { } address)
            {
                if (!cidr.Contains(address) || !cidr.HostRange().Contains(IpAddressMath.ToNumber(address)))
                {
                    throw NeutronException.BadRequest($"Invalid input for operation: IP address {address} is not a valid IP for the specified subnet.");
                }
                var text = address.ToString();
                if ((!allowGateway && text == subnet.GatewayIp)
                    || result.Any(r => r.SubnetId == subnet.Id && r.IpAddress == text)
                    || await db.IpAllocations.AnyAsync(x => x.SubnetId == subnet.Id && x.IpAddress == text, ct))
                {
                    throw NeutronException.Conflict("IpAddressAlreadyAllocated",
                        $"IP address {text} already allocated in subnet {subnet.Id}");
                }
                result.Add(new IpAllocation { SubnetId = subnet.Id, IpAddress = text, PortId = portId });
            }
            else
            {
                var next = await NextFreeAsync(subnet, result, ct) ?? throw Exhausted(network);
                result.Add(new IpAllocation { SubnetId = subnet.Id, IpAddress = next.ToString(), PortId = portId });
            }
        }
        return result;
    }

    private async Task<IPAddress?> NextFreeAsync(Subnet subnet, List<IpAllocation> pending, CancellationToken ct)
    {
        var pools = SubnetRules.ParsePools(subnet);
        UInt128? gateway = subnet.GatewayIp is null ? null : IpAddressMath.ToNumber(IPAddress.Parse(subnet.GatewayIp));
        var mine = pending.Where(p => p.SubnetId == subnet.Id).Select(p => IpAddressMath.ToNumber(IPAddress.Parse(p.IpAddress))).ToHashSet();
        if (IpAllocator.Size(pools) > IpAllocator.ExactSearchLimit)
        {
            // A large pool: ask which of a few random addresses are free (index probes), so the cost does not
            // grow with the number of ports in the subnet. Only a nearly full pool gets past these rounds.
            for (var round = 0; round < SampleRounds; round++)
            {
                var sample = IpAllocator.Sample(pools, gateway, mine, SampleSize, Random.Shared);
                if (await FirstFreeAsync(subnet.Id, sample, ct) is { } free)
                {
                    return free;
                }
            }
        }
        var taken = await db.IpAllocations.Where(a => a.SubnetId == subnet.Id).Select(a => a.IpAddress).ToListAsync(ct);
        var set = taken.Select(t => IpAddressMath.ToNumber(IPAddress.Parse(t))).Concat(mine).ToHashSet();
        return IpAllocator.PickFree(pools, set, gateway, CandidateSpread);
    }

    /// <summary>The first of <paramref name="candidates"/> (in their random order) that no port holds.</summary>
    private async Task<IPAddress?> FirstFreeAsync(Guid subnetId, List<IPAddress> candidates, CancellationToken ct)
    {
        if (candidates.Count == 0)
        {
            return null;
        }
        var texts = candidates.Select(c => c.ToString()).ToArray();
        var taken = await db.IpAllocations
            .Where(a => a.SubnetId == subnetId && texts.Contains(a.IpAddress))
            .Select(a => a.IpAddress)
            .ToListAsync(ct);
        var free = candidates.FirstOrDefault(c => !taken.Contains(c.ToString()));
        return free;
    }

    private static NeutronException Exhausted(Network network) =>
        NeutronException.Conflict("IpAddressGenerationFailure", $"No more IP addresses available on network {network.Id}.");

    /// <summary>
    /// The requested MAC if free, else a generated one. A generated MAC is not checked first (a round trip per
    /// create): the unique constraint on ports.mac_address catches the rare collision (24 random bits) and
    /// <see cref="Accept.AcceptTransaction"/> runs the request again with a new one.
    /// </summary>
    public async Task<string> MacAsync(string? requested, Guid networkId, CancellationToken ct)
    {
        if (requested is null)
        {
            return MacAddress.Generate();
        }
        if (await db.Ports.AnyAsync(p => p.MacAddress == requested, ct))
        {
            throw NeutronException.Conflict("MacAddressInUse",
                $"Unable to complete operation for network {networkId}. The mac address {requested} is in use.");
        }
        return requested;
    }
}
