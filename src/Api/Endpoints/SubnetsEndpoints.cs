using System.Net;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;
using OutboxSync.Api.Auth;
using OutboxSync.Api.Errors;
using OutboxSync.Api.Lists;
using OutboxSync.Api.Requests;
using OutboxSync.Ipam;
using OutboxSync.Outbox;
using OutboxSync.Resources;

namespace OutboxSync.Api.Endpoints;

public static class SubnetsEndpoints
{
    private static readonly ResourceType Type = ResourceType.Subnet;

    public static RouteGroupBuilder MapSubnets(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/v2.0/subnets").WithTags("subnets");
        group.MapGet("/", List);
        group.MapGet("/{id}", Show);
        group.MapPost("/", Create);
        group.MapPut("/{id}", Update);
        group.MapDelete("/{id}", Delete);
        return group;
    }

    private static Task<Ok<JsonObject>> List(HttpContext context, [AsParameters] ResourceServices s, CancellationToken ct) =>
        ResourceReads.ListAsync(context, s, Type, s.Db.Subnets, RenderAsync, ct);

    private static Task<Ok<JsonObject>> Show(string id, HttpContext context, [AsParameters] ResourceServices s, CancellationToken ct) =>
        ResourceReads.ShowAsync(id, context, s, Type, ct);

    private static Task<List<JsonObject>> RenderAsync(ResourceServices s, TenantContext tenant, IReadOnlyList<Subnet> subnets, CancellationToken ct) =>
        Task.FromResult(subnets.Select(ResourceViews.Subnet).ToList());

    private static async Task<Created<JsonObject>> Create(HttpContext context, [AsParameters] ResourceServices s, CancellationToken ct)
    {
        var tenant = TenantContext.From(context);
        var body = await RequestBody.ReadObjectAsync(context.Request, ct);
        var (items, bulk) = RequestBody.Envelope(body, "subnet", "subnets", allowBulk: true);
        var now = Revisions.Now(s.Time);
        var parsed = items.Select(item => Parse(new Attributes(item, "subnet", isCreate: true), tenant, now)).ToList();

        var subnets = await s.Accept.RunAsync(async () =>
        {
            var created = new List<Subnet>();
            var touched = new Dictionary<Guid, Network>();
            foreach (var (subnet, a, requested, prefixLength) in parsed)
            {
                var network = await s.Lookup.FindAsync<Network>(ResourceType.Network, subnet.NetworkId.ToString(), tenant, forUpdate: true, ct);
                if (!tenant.IsAdmin && network.ProjectId != tenant.ProjectId)
                {
                    throw NeutronException.Forbidden("(rule:create_subnet and rule:create_subnet:network_id) is disallowed by policy");
                }
                Revisions.EnsureNotDeleting(network);
                SubnetRules.EnsureMtuFits(network, subnet.IpVersion);
                var cidr = subnet.SubnetpoolId is null ? requested!
                    : await SubnetPoolAllocation.CutAsync(s, tenant, subnet, requested, prefixLength, created, ct);
                if (requested is null)
                {
                    Address(subnet, a, cidr);
                }
                var siblings = await s.Db.Subnets.Where(x => x.NetworkId == network.Id).Select(x => new { x.Id, x.Cidr }).ToListAsync(ct);
                foreach (var sibling in siblings.Concat(created.Where(c => c.NetworkId == network.Id).Select(c => new { c.Id, c.Cidr })))
                {
                    if (SubnetCidr.TryParse(sibling.Cidr, out var other, out _) && other.Version == cidr.Version && other.Range.Overlaps(cidr.Range))
                    {
                        throw NeutronException.BadRequest(
                            $"Invalid input for operation: Requested subnet with cidr: {cidr} for network: {network.Id} overlaps with another subnet.");
                    }
                }
                s.Db.Subnets.Add(subnet);
                s.Accept.Outbox.Append(subnet, OutboxOperation.Create, () => ResourceViews.Subnet(subnet), ResourceSnapshots.SubnetParents(subnet));
                if (Ipv6Modes.IsAutoAddress(subnet.Ipv6AddressMode))
                {
                    await AddAutoAddressesAsync(s, subnet, cidr, now, ct);
                }
                created.Add(subnet);
                touched.TryAdd(network.Id, network);
            }
            foreach (var network in touched.Values)
            {
                await BumpNetworkAsync(s, network, now, added: created.Where(c => c.NetworkId == network.Id).Select(c => c.Id), removed: null, ct);
            }
            return created;
        }, ct);
        return Responses.Created(context.Request, Type, subnets.Select(ResourceViews.Subnet).ToList(), bulk);
    }

    private static async Task<Ok<JsonObject>> Update(string id, HttpContext context, [AsParameters] ResourceServices s, CancellationToken ct)
    {
        var tenant = TenantContext.From(context);
        var body = await RequestBody.ReadObjectAsync(context.Request, ct);
        var (items, _) = RequestBody.Envelope(body, "subnet", "subnets", allowBulk: false);
        var a = new Attributes(items[0], "subnet", isCreate: false);
        a.ReadOnly("id", "project_id", "tenant_id", "status", "status_reason", "revision_number", "created_at", "updated_at",
            "network_id", "cidr", "ip_version", "tags", "subnetpool_id", "ipv6_ra_mode", "ipv6_address_mode");

        var view = await s.Accept.RunAsync(async () =>
        {
            var network = await LockNetworkOfAsync(s, id, ct);
            var subnet = await s.Lookup.FindAsync<Subnet>(Type, id, tenant, forUpdate: true, ct);
            Revisions.CheckIfMatch(context.Request, subnet);
            Revisions.EnsureNotDeleting(subnet);
            SubnetCidr.TryParse(subnet.Cidr, out var cidr, out _);
            subnet.Name = a.Name() ?? subnet.Name;
            subnet.Description = a.Description() ?? subnet.Description;
            subnet.EnableDhcp = a.Bool("enable_dhcp") ?? subnet.EnableDhcp;
            if (!subnet.EnableDhcp && (subnet.Ipv6RaMode ?? subnet.Ipv6AddressMode) is not null)
            {
                throw NeutronException.InvalidInput("Cannot disable enable_dhcp with ipv6 attributes set");
            }
            var gateway = SubnetRules.Gateway(a, cidr, subnet.GatewayIp is null ? null : IPAddress.Parse(subnet.GatewayIp), isCreate: false);
            var pools = SubnetRules.Pools(a, cidr, gateway, SubnetRules.ParsePools(subnet));
            if (gateway is not null && pools.Any(p => p.Contains(IpAddressMath.ToNumber(gateway))))
            {
                throw NeutronException.Conflict("GatewayConflictWithAllocationPools", $"Gateway ip {gateway} conflicts with an allocation pool.");
            }
            subnet.GatewayIp = gateway?.ToString();
            subnet.AllocationPools = SubnetRules.PoolsJson(pools).ToJsonString();
            subnet.DnsNameservers = SubnetRules.DnsServers(a, cidr.Version) ?? subnet.DnsNameservers;
            subnet.HostRoutes = SubnetRules.Routes(a, "host_routes")?.ToJsonString() ?? subnet.HostRoutes;
            a.RejectUnknown();
            var now = Revisions.Now(s.Time);
            var operation = Revisions.Bump(subnet, now);
            s.Accept.Outbox.Append(subnet, operation, () => ResourceViews.Subnet(subnet), ResourceSnapshots.SubnetParents(subnet));
            await BumpNetworkAsync(s, network, now, added: null, removed: null, ct);
            return ResourceViews.Subnet(subnet);
        }, ct);
        return TypedResults.Ok(Responses.Envelope("subnet", view));
    }

    private static async Task<NoContent> Delete(string id, HttpContext context, [AsParameters] ResourceServices s, CancellationToken ct)
    {
        var tenant = TenantContext.From(context);
        await s.Accept.RunAsync(async () =>
        {
            var network = await LockNetworkOfAsync(s, id, ct);
            var subnet = await s.Lookup.FindAsync<Subnet>(Type, id, tenant, forUpdate: true, ct);
            Revisions.CheckIfMatch(context.Request, subnet);
            if (subnet.Status == ResourceStatus.PendingDelete)
            {
                return 0;
            }
            if (Ipv6Modes.IsAutoAddress(subnet.Ipv6AddressMode))
            {
                await RemoveAutoAddressesAsync(s, subnet, Revisions.Now(s.Time), ct);
            }
            var inUse = await s.Db.IpAllocations
                .Where(a => a.SubnetId == subnet.Id)
                .Join(s.Db.Ports, a => a.PortId, p => p.Id, (a, p) => p.Status)
                .AnyAsync(status => status != ResourceStatus.PendingDelete, ct);
            if (inUse)
            {
                throw NeutronException.Conflict("SubnetInUse",
                    $"Unable to complete operation on subnet {subnet.Id}: One or more ports have an IP allocation from this subnet.");
            }
            subnet.Status = ResourceStatus.PendingDelete;
            subnet.StatusReason = null;
            s.Accept.Outbox.Append(subnet, OutboxOperation.Delete, () => ResourceViews.Subnet(subnet), ResourceSnapshots.SubnetParents(subnet));
            await BumpNetworkAsync(s, network, Revisions.Now(s.Time), added: null, removed: subnet.Id, ct);
            return 0;
        }, ct);
        return TypedResults.NoContent();
    }

    /// <summary>
    /// The network of subnet <paramref name="subnetId"/>, locked FOR UPDATE before the subnet is: the order every
    /// writer takes (a subnet create, a network delete and its cascade lock the network first), so a subnet update or
    /// delete cannot deadlock with them. Null when the subnet does not exist (the subnet lookup then answers 404).
    /// </summary>
    private static async Task<Network?> LockNetworkOfAsync(ResourceServices s, string subnetId, CancellationToken ct)
    {
        if (!Guid.TryParse(subnetId, out var id)
            || await s.Db.Subnets.AsNoTracking().Where(x => x.Id == id).Select(x => (Guid?)x.NetworkId).FirstOrDefaultAsync(ct) is not { } networkId)
        {
            return null;
        }
        return await s.Db.Networks.FromSqlRaw("select * from networks where id = {0} for update", networkId).SingleOrDefaultAsync(ct);
    }

    /// <summary>
    /// A subnet's create, update or delete is a change of its network, as in Neutron: the network's revision_number
    /// and updated_at move, and like every change it goes to the back end as the network's next entry, carrying its
    /// subnet list as it will be (<paramref name="added"/> not yet saved, <paramref name="removed"/> on its way out).
    /// A network being deleted is left alone: its delete is its last entry.
    /// </summary>
    private static async Task BumpNetworkAsync(ResourceServices s, Network? network, DateTimeOffset now,
        IEnumerable<Guid>? added, Guid? removed, CancellationToken ct)
    {
        if (network is null || network.Status == ResourceStatus.PendingDelete)
        {
            return;
        }
        var subnetIds = ((await s.Lookup.SubnetIdsAsync([network.Id], ct)).GetValueOrDefault(network.Id) ?? [])
            .Concat(added ?? []).Where(x => x != removed).Distinct().ToList();
        var operation = Revisions.Bump(network, now);
        s.Accept.Outbox.Append(network, operation, () => ResourceViews.Network(network, subnetIds));
    }

    /// <summary>
    /// A new auto-address subnet: every port on its network (router interfaces aside) holds its EUI-64 address there
    /// at once, as in Neutron. Each such port changes, so it goes to the back end as an update, after the subnet's
    /// create (its entry names the new subnet). Ports are locked as a port update locks them.
    /// </summary>
    private static async Task AddAutoAddressesAsync(ResourceServices s, Subnet subnet, SubnetCidr cidr, DateTimeOffset now, CancellationToken ct)
    {
        // The subnet row first: the allocations reference it, and EF Core does not order the two inserts.
        await s.Db.SaveChangesAsync(ct);
        foreach (var port in await PortsOnNetworkAsync(s, subnet.NetworkId, ct))
        {
            var allocation = new IpAllocation { SubnetId = subnet.Id, IpAddress = Eui64.Address(cidr.Network, port.MacAddress).ToString(), PortId = port.Id };
            s.Db.IpAllocations.Add(allocation);
            port.FixedIps.Add(allocation);
            var operation = Revisions.Bump(port, now);
            s.Accept.Outbox.Append(port, operation, () => ResourceViews.Port(port), ResourceSnapshots.PortParents(port));
        }
    }

    /// <summary>
    /// Deleting an auto-address subnet takes its EUI-64 addresses off the ports that hold them (Neutron allows the
    /// delete although ports use it). Each port goes to the back end as an update that still names the subnet, so
    /// the subnet's delete waits for it; the addresses are recorded as given up (<see cref="PortAddressing.RecordReleasedAsync"/>).
    /// </summary>
    private static async Task RemoveAutoAddressesAsync(ResourceServices s, Subnet subnet, DateTimeOffset now, CancellationToken ct)
    {
        foreach (var port in await PortsOnNetworkAsync(s, subnet.NetworkId, ct))
        {
            if (port.FixedIps.FirstOrDefault(a => a.SubnetId == subnet.Id) is not { } held)
            {
                continue;
            }
            var formerParents = ResourceSnapshots.PortParents(port).ToList();
            await PortAddressing.RecordReleasedAsync(s.Connection, port.Id, ct);
            s.Db.IpAllocations.Remove(held);
            port.FixedIps.Remove(held);
            var operation = Revisions.Bump(port, now);
            s.Accept.Outbox.Append(port, operation, () => ResourceViews.Port(port), formerParents);
        }
        // Saved now: the delete's "ports still use it" check reads the allocations that remain.
        await s.Db.SaveChangesAsync(ct);
    }

    /// <summary>The live ports of a network that hold auto addresses (router interfaces do not), locked FOR UPDATE in id
    /// order, with their addresses.</summary>
    private static Task<List<Port>> PortsOnNetworkAsync(ResourceServices s, Guid networkId, CancellationToken ct) =>
        s.Db.Ports.FromSqlRaw(
                "select * from ports where network_id = {0} and released_at is null and device_owner <> {1} order by id for update",
                networkId, Port.RouterInterfaceOwner)
            .Include(p => p.FixedIps)
            .ToListAsync(ct);

    /// <param name="Cidr">The CIDR asked for; null when it is to be cut from the pool by prefix length.</param>
    private sealed record SubnetRequest(Subnet Subnet, Attributes Attributes, SubnetCidr? Cidr, int? PrefixLength);

    private static SubnetRequest Parse(Attributes a, TenantContext tenant, DateTimeOffset now)
    {
        a.ReadOnly("id", "status", "status_reason", "revision_number", "created_at", "updated_at");
        var networkId = a.Uuid("network_id") ?? throw NeutronException.BadRequest("Failed to parse request. Required attribute 'network_id' not specified");
        var version = a.Int("ip_version", 4, 6) ?? throw NeutronException.BadRequest("Failed to parse request. Required attribute 'ip_version' not specified");
        if (version is not (4 or 6))
        {
            throw a.Invalid("ip_version", $"'{version}' is not in [4, 6]");
        }
        var poolId = a.Uuid("subnetpool_id", nullable: true);
        var cidrText = a.String("cidr", 64, nullable: true);
        var prefixLength = a.Int("prefixlen", 0, version == 4 ? 32 : 128);
        if (prefixLength is not null && poolId is null)
        {
            throw NeutronException.BadRequest("Bad subnet request: prefixlen is only valid with a subnetpool_id.");
        }
        if (prefixLength is not null && cidrText is not null)
        {
            throw NeutronException.BadRequest("Bad subnet request: cidr and prefixlen must not be supplied together.");
        }
        var cidr = cidrText is null && poolId is not null ? null : SubnetRules.Cidr(cidrText, version);
        var subnet = new Subnet
        {
            Id = Guid.NewGuid(),
            ProjectId = tenant.OwnerOfNew(a.ProjectId()),
            Name = a.Name() ?? "",
            Description = a.Description() ?? "",
            NetworkId = networkId,
            IpVersion = version,
            SubnetpoolId = poolId,
            EnableDhcp = a.Bool("enable_dhcp") ?? true,
            DnsNameservers = SubnetRules.DnsServers(a, version) ?? [],
            HostRoutes = SubnetRules.Routes(a, "host_routes")?.ToJsonString() ?? "[]",
        };
        if (cidr is not null)
        {
            Address(subnet, a, cidr);
        }
        else
        {
            // Cut by prefix length: the gateway and IPv6 modes are checked once the CIDR is known, in the transaction.
            if (a.Raw("allocation_pools") is not null)
            {
                throw NeutronException.BadRequest("Bad subnet request: allocation_pools allowed only for specific subnet requests.");
            }
            foreach (var later in new[] { "gateway_ip", "ipv6_ra_mode", "ipv6_address_mode" })
            {
                _ = a.Has(later);
            }
        }
        a.RejectUnknown();
        Revisions.Initialize(subnet, now);
        return new SubnetRequest(subnet, a, cidr, prefixLength);
    }

    /// <summary>What follows from the CIDR: the gateway, the allocation pools and the IPv6 modes.</summary>
    private static void Address(Subnet subnet, Attributes a, SubnetCidr cidr)
    {
        var gateway = SubnetRules.Gateway(a, cidr, null, isCreate: true);
        var pools = SubnetRules.Pools(a, cidr, gateway, null);
        subnet.Cidr = cidr.ToString();
        subnet.GatewayIp = gateway?.ToString();
        subnet.AllocationPools = SubnetRules.PoolsJson(pools).ToJsonString();
        (subnet.Ipv6RaMode, subnet.Ipv6AddressMode) = SubnetRules.Ipv6Modes(a, cidr, subnet.EnableDhcp);
    }
}
