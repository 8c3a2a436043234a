using System.Collections.Concurrent;
using System.Net;
using System.Text.Json.Nodes;
using Npgsql;
using NpgsqlTypes;
using OutboxSync.Api.Errors;
using OutboxSync.Api.Requests;
using OutboxSync.Ipam;
using OutboxSync.Resources;

namespace OutboxSync.Api.Endpoints;

/// <summary>
/// IPAM inside the accept transaction, optimistic like Neutron's own IPAM: an address is picked at random (in a
/// large pool, among random samples the database says are free; in a small one, among the lowest free ones),
/// without locking the subnet, so concurrent port creates do not queue behind each other
/// inside open transactions. The (subnet_id, ip_address) primary key is the guard: a collision fails that
/// transaction and <see cref="Accept.AcceptTransaction"/> runs the request again. Subnet rows are locked FOR SHARE
/// only, which blocks a concurrent subnet delete from missing the new allocation but not other port creates.
/// Every statement is raw Npgsql on the caller's connection, inside the caller's transaction: this is the hot path
/// of port creates (BENCHMARKS.md, T2), where EF Core's query pipeline cost more than the queries themselves.
/// </summary>
public static class PortAddressing
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

    /// <summary>The network a port goes on and its live subnets, as IPAM needs them; <see cref="FirstProbe"/> is the
    /// answer to a probe sent with the locks, if one was.</summary>
    public sealed record PortNetwork(Guid Id, string ProjectId, bool Shared, string Status, IReadOnlyList<IpamSubnet> Subnets)
    {
        public Probe? FirstProbe { get; init; }
    }

    /// <summary>Which of <see cref="Candidates"/>, drawn from <see cref="Subnet"/>'s pools as this process last saw
    /// them, were allocated when the probe ran.</summary>
    public sealed record Probe(IpamSubnet Subnet, IReadOnlyList<IPAddress> Candidates, IReadOnlySet<string> Taken);

    /// <summary>A subnet's addressing: what IPAM reads, not the whole row.</summary>
    public sealed record IpamSubnet(Guid Id, int IpVersion, string Cidr, string? GatewayIp, string AllocationPools, DateTimeOffset CreatedAt,
        string? AddressMode = null)
    {
        public IReadOnlyList<IpRange> Pools() => SubnetRules.ParsePools(AllocationPools);

        /// <summary>SLAAC or DHCPv6-stateless: ports hold their EUI-64 address here, never a chosen one.</summary>
        public bool IsAutoAddress => Ipv6Modes.IsAutoAddress(AddressMode);
    }

    // FOR SHARE on both: a concurrent network or subnet delete (an UPDATE of the row to PENDING_DELETE, which then
    // checks for ports and allocations) waits for this transaction, so it cannot miss the port about to be written.
    // Other port creates share the locks and do not wait. Pending-delete subnets get no new addresses.
    private const string NetworkSql = "select project_id, shared, status from networks where id = $1 for share";

    private const string SubnetsSql = """
        select id, ip_version, cidr, gateway_ip, allocation_pools::text, created_at, ipv6_address_mode
        from subnets where network_id = $1 and status <> 'PENDING_DELETE' order by id for share
        """;

    // Per network, the subnet a port without fixed_ips is first given an address from, as this process last saw it
    // under the lock: lets the next create send IPAM's first probe with the locks (one round trip less). Only a
    // hint: the probe is used only if the locked rows show the same subnet with the same pools and gateway.
    private static readonly ConcurrentDictionary<Guid, IpamSubnet> FirstSubnets = new();
    private const int FirstSubnetsCapacity = 10_000;

    /// <summary>Locks the network and its live subnets (one round trip); null when no such network exists. With
    /// <paramref name="probeFirstSubnet"/> (a port create without fixed_ips), the same round trip also probes random
    /// addresses of the subnet it will most likely allocate from, when this process has seen the network before.</summary>
    public static async Task<PortNetwork?> LockNetworkAsync(NpgsqlConnection connection, Guid networkId, CancellationToken ct,
        bool probeFirstSubnet = false)
    {
        await using var batch = new NpgsqlBatch(connection)
        {
            BatchCommands =
            {
                new NpgsqlBatchCommand(NetworkSql) { Parameters = { new NpgsqlParameter<Guid> { TypedValue = networkId } } },
                new NpgsqlBatchCommand(SubnetsSql) { Parameters = { new NpgsqlParameter<Guid> { TypedValue = networkId } } },
            },
        };
        // After the locks in the same batch, so it sees what they see (a concurrent uncommitted pick is caught by the
        // primary key at insert, as for any probe).
        List<IPAddress>? candidates = null;
        IpamSubnet? hinted = null;
        if (probeFirstSubnet && FirstSubnets.TryGetValue(networkId, out var known) && IsSampled(known))
        {
            hinted = known;
            candidates = IpAllocator.Sample(hinted.Pools(), Gateway(hinted), new HashSet<UInt128>(), SampleSize, Random.Shared);
            batch.BatchCommands.Add(ProbeCommand(hinted.Id, candidates.Select(c => c.ToString()).ToArray()));
        }
        await using var reader = await batch.ExecuteReaderAsync(ct);
        if (!await reader.ReadAsync(ct))
        {
            return null;
        }
        var (projectId, shared, status) = (reader.GetString(0), reader.GetBoolean(1), reader.GetString(2));
        await reader.NextResultAsync(ct);
        var subnets = new List<IpamSubnet>();
        while (await reader.ReadAsync(ct))
        {
            subnets.Add(new IpamSubnet(reader.GetGuid(0), reader.GetInt32(1), reader.GetString(2),
                reader.IsDBNull(3) ? null : reader.GetString(3), reader.GetString(4), reader.GetFieldValue<DateTimeOffset>(5),
                reader.IsDBNull(6) ? null : reader.GetString(6)));
        }
        Probe? probe = null;
        if (candidates is not null && await reader.NextResultAsync(ct))
        {
            var taken = await ReadTakenAsync(reader, ct);
            // The hint was only a guess: its answer counts only for the very subnet the locked rows show.
            if (subnets.FirstOrDefault(x => x.Id == hinted!.Id) is { } locked
                && locked.AllocationPools == hinted!.AllocationPools && locked.GatewayIp == hinted.GatewayIp && locked.Cidr == hinted.Cidr)
            {
                probe = new Probe(locked, candidates, taken);
            }
        }
        Remember(networkId, subnets);
        return new PortNetwork(networkId, projectId, shared, status, subnets) { FirstProbe = probe };
    }

    private static void Remember(Guid networkId, List<IpamSubnet> allSubnets)
    {
        var subnets = allSubnets.Where(x => !x.IsAutoAddress).ToList();
        var first = subnets.Count == 0 ? null
            : subnets.Where(x => x.IpVersion == subnets.Min(y => y.IpVersion)).OrderBy(x => x.CreatedAt).ThenBy(x => x.Id).First();
        if (first is null)
        {
            FirstSubnets.TryRemove(networkId, out _);
            return;
        }
        if (FirstSubnets.Count >= FirstSubnetsCapacity && !FirstSubnets.ContainsKey(networkId))
        {
            FirstSubnets.Clear(); // a bounded hint: start over rather than grow with the number of networks
        }
        FirstSubnets[networkId] = first;
    }

    private static bool IsSampled(IpamSubnet subnet) => IpAllocator.Size(subnet.Pools()) > IpAllocator.ExactSearchLimit;

    private static UInt128? Gateway(IpamSubnet subnet) =>
        subnet.GatewayIp is null ? null : IpAddressMath.ToNumber(IPAddress.Parse(subnet.GatewayIp));

    /// <param name="allowGateway">Router interfaces take the gateway address; ordinary ports may not.</param>
    /// <param name="mac">The port's MAC, for its EUI-64 address on each auto-address subnet; null for a router
    /// interface, which holds only the address it asks for (as in Neutron).</param>
    public static async Task<List<IpAllocation>> AllocateAsync(NpgsqlConnection connection, PortNetwork network, Guid portId,
        IReadOnlyList<Request>? requested, bool allowGateway, string? mac, CancellationToken ct)
    {
        var result = requested is null
            ? await AllocateDefaultAsync(connection, network, portId, ct)
            : await AllocateRequestedAsync(connection, network, portId, requested, allowGateway, autoAddressed: mac is not null, ct);
        if (mac is not null)
        {
            // Every auto-address subnet of the network, listed or not: the host configures that address itself.
            foreach (var subnet in network.Subnets.Where(x => x.IsAutoAddress && result.All(r => r.SubnetId != x.Id)))
            {
                SubnetCidr.TryParse(subnet.Cidr, out var cidr, out _);
                result.Add(new IpAllocation { SubnetId = subnet.Id, IpAddress = Eui64.Address(cidr.Network, mac).ToString(), PortId = portId });
            }
        }
        return result;
    }

    private static async Task<List<IpAllocation>> AllocateDefaultAsync(NpgsqlConnection connection, PortNetwork network, Guid portId, CancellationToken ct)
    {
        // Auto-address subnets are not chosen from: every port gets its EUI-64 address on each of them.
        var subnets = network.Subnets.Where(x => !x.IsAutoAddress).ToList();
        var result = new List<IpAllocation>();
        {
            // Neutron's default: one address per IP version, from the first subnet (oldest) that has room.
            foreach (var version in subnets.Select(s => s.IpVersion).Distinct().Order())
            {
                IPAddress? address = null;
                IpamSubnet? from = null;
                foreach (var subnet in subnets.Where(s => s.IpVersion == version).OrderBy(s => s.CreatedAt).ThenBy(s => s.Id))
                {
                    address = await NextFreeAsync(connection, subnet, result, network.FirstProbe, ct);
                    if (address is not null)
                    {
                        from = subnet;
                        break;
                    }
                }
                if (address is null || from is null)
                {
                    throw Exhausted(network.Id);
                }
                result.Add(new IpAllocation { SubnetId = from.Id, IpAddress = address.ToString(), PortId = portId });
            }
            return result;
        }
    }

    private static async Task<List<IpAllocation>> AllocateRequestedAsync(NpgsqlConnection connection, PortNetwork network, Guid portId,
        IReadOnlyList<Request> requested, bool allowGateway, bool autoAddressed, CancellationToken ct)
    {
        var subnets = network.Subnets;
        var result = new List<IpAllocation>();
        foreach (var request in requested)
        {
            var subnet = request.SubnetId is { } sid
                ? subnets.FirstOrDefault(s => s.Id == sid)
                  ?? throw NeutronException.BadRequest($"Invalid input for operation: Failed to create port on network {network.Id}, because fixed_ips included invalid subnet {sid}.")
                : subnets.FirstOrDefault(s => SubnetCidr.TryParse(s.Cidr, out var c, out _) && c.Contains(request.Address!))
                  ?? throw NeutronException.BadRequest($"Invalid input for operation: IP address {request.Address} is not a valid IP for any of the subnets on the specified network.");
            SubnetCidr.TryParse(subnet.Cidr, out var cidr, out _);
            if (subnet.IsAutoAddress && autoAddressed)
            {
                // The port holds its EUI-64 address there whatever it asks (added by the caller).
                if (request.Address is { } chosen)
                {
                    throw NeutronException.BadRequest(
                        $"IPv6 address {chosen} cannot be directly assigned to a port on subnet {subnet.Id} since the subnet is configured for automatic addresses");
                }
                continue;
            }
            if (request.Address is { } address)
            {
                if (!cidr.Contains(address) || !cidr.HostRange().Contains(IpAddressMath.ToNumber(address)))
                {
                    throw NeutronException.BadRequest($"Invalid input for operation: IP address {address} is not a valid IP for the specified subnet.");
                }
                var text = address.ToString();
                if ((!allowGateway && text == subnet.GatewayIp)
                    || result.Any(r => r.SubnetId == subnet.Id && r.IpAddress == text)
                    || (await TakenAsync(connection, subnet.Id, [text], ct)).Count > 0)
                {
                    throw NeutronException.Conflict("IpAddressAlreadyAllocated",
                        $"IP address {text} already allocated in subnet {subnet.Id}");
                }
                result.Add(new IpAllocation { SubnetId = subnet.Id, IpAddress = text, PortId = portId });
            }
            else
            {
                var next = await NextFreeAsync(connection, subnet, result, null, ct) ?? throw Exhausted(network.Id);
                result.Add(new IpAllocation { SubnetId = subnet.Id, IpAddress = next.ToString(), PortId = portId });
            }
        }
        return result;
    }

    private static async Task<IPAddress?> NextFreeAsync(NpgsqlConnection connection, IpamSubnet subnet, List<IpAllocation> pending,
        Probe? firstProbe, CancellationToken ct)
    {
        var pools = subnet.Pools();
        var gateway = Gateway(subnet);
        var mine = pending.Where(p => p.SubnetId == subnet.Id).Select(p => IpAddressMath.ToNumber(IPAddress.Parse(p.IpAddress))).ToHashSet();
        if (firstProbe is not null && firstProbe.Subnet.Id == subnet.Id
            && firstProbe.Candidates.FirstOrDefault(c => !firstProbe.Taken.Contains(c.ToString()) && !mine.Contains(IpAddressMath.ToNumber(c))) is { } early)
        {
            return early; // the probe sent with the locks already found one
        }
        if (IpAllocator.Size(pools) > IpAllocator.ExactSearchLimit)
        {
            // A large pool: ask which of a few random addresses are free (index probes), so the cost does not
            // grow with the number of ports in the subnet. Only a nearly full pool gets past these rounds.
            for (var round = 0; round < SampleRounds; round++)
            {
                var sample = IpAllocator.Sample(pools, gateway, mine, SampleSize, Random.Shared);
                if (sample.Count == 0)
                {
                    break;
                }
                var taken = await TakenAsync(connection, subnet.Id, sample.Select(a => a.ToString()).ToArray(), ct);
                if (sample.FirstOrDefault(c => !taken.Contains(c.ToString())) is { } free)
                {
                    return free;
                }
            }
        }
        var set = (await TakenAsync(connection, subnet.Id, null, ct)).Select(t => IpAddressMath.ToNumber(IPAddress.Parse(t))).Concat(mine).ToHashSet();
        return IpAllocator.PickFree(pools, set, gateway, CandidateSpread);
    }

    // One primary-key lookup per candidate, whatever the statistics say: a scalar subquery with LIMIT can be
    // neither flattened into a join nor hashed. The plainer "subnet_id = $1 and ip_address = any($2)", a join with
    // unnest, or an EXISTS let the planner, when statistics say a subnet is nearly empty (a new subnet, until
    // autovacuum analyses the table again), read every allocation of the subnet once per probe (index condition on
    // subnet_id alone, or a hashed subplan): 2,000-3,600 buffers and 2-4 ms per probe on a busy new subnet, against
    // 12 buffers here (BENCHMARKS.md, T2).
    private const string ProbeSql = """
        select c.ip, (select true from ip_allocations a where a.subnet_id = $1 and a.ip_address = c.ip limit 1)
        from unnest($2::text[]) as c(ip)
        """;

    /// <summary>Which of <paramref name="addresses"/> (all, when null) are allocated in the subnet: lookups on the
    /// (subnet_id, ip_address) primary key.</summary>
    private static async Task<HashSet<string>> TakenAsync(NpgsqlConnection connection, Guid subnetId, string[]? addresses, CancellationToken ct)
    {
        await using var command = new NpgsqlCommand(addresses is null
            ? "select ip_address, true from ip_allocations where subnet_id = $1"
            : ProbeSql, connection);
        command.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = subnetId });
        if (addresses is not null)
        {
            command.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = addresses, NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text });
        }
        await using var reader = await command.ExecuteReaderAsync(ct);
        return await ReadTakenAsync(reader, ct);
    }

    private static NpgsqlBatchCommand ProbeCommand(Guid subnetId, string[] addresses) => new(ProbeSql)
    {
        Parameters =
        {
            new NpgsqlParameter<Guid> { TypedValue = subnetId },
            new NpgsqlParameter<string[]> { TypedValue = addresses, NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text },
        },
    };

    private static async Task<HashSet<string>> ReadTakenAsync(NpgsqlDataReader reader, CancellationToken ct)
    {
        var taken = new HashSet<string>();
        while (await reader.ReadAsync(ct))
        {
            if (!reader.IsDBNull(1))
            {
                taken.Add(reader.GetString(0));
            }
        }
        return taken;
    }

    // The addresses a port gives up stay recorded against it until the back end confirmed its delete (the rows go
    // with the port's row), so the drain sends a port that takes one after this port's pending entries.
    private const string RecordReleasedSql = """
        insert into released_addresses (subnet_id, ip_address, port_id)
        select subnet_id, ip_address, port_id from ip_allocations where port_id = $1
        on conflict do nothing
        """;

    /// <summary>
    /// A port update is about to give up (some of) its addresses: record them against the port, so a port that takes
    /// one is sent after this update (<c>DependencyRules</c>). The caller then removes the allocations.
    /// </summary>
    public static async Task RecordReleasedAsync(NpgsqlConnection connection, Guid portId, CancellationToken ct)
    {
        await using var command = new NpgsqlCommand(RecordReleasedSql, connection) { Parameters = { new NpgsqlParameter<Guid> { TypedValue = portId } } };
        await command.ExecuteNonQueryAsync(ct);
    }

    /// <summary>
    /// A port's delete was accepted: its MAC and addresses are free for a new port at once, as in Neutron. The port
    /// keeps its row (PENDING_DELETE) until the back end confirms; the caller renders its outbox entry first, since
    /// the entry (and the delete sent to the back end) still names the addresses it held.
    /// </summary>
    public static async Task ReleaseAsync(NpgsqlConnection connection, Port port, DateTimeOffset now, CancellationToken ct)
    {
        await RecordReleasedAsync(connection, port.Id, ct);
        await using var command = new NpgsqlCommand("delete from ip_allocations where port_id = $1", connection)
        {
            Parameters = { new NpgsqlParameter<Guid> { TypedValue = port.Id } },
        };
        await command.ExecuteNonQueryAsync(ct);
        port.ReleasedAt = now;
    }

    private static NeutronException Exhausted(Guid networkId) =>
        NeutronException.Conflict("IpAddressGenerationFailure", $"No more IP addresses available on network {networkId}.");

    /// <summary>
    /// The requested MAC if free, else a generated one. A generated MAC is not checked first (a round trip per
    /// create): the unique constraint on ports.mac_address catches the rare collision (24 random bits) and
    /// <see cref="Accept.AcceptTransaction"/> runs the request again with a new one.
    /// </summary>
    public static async Task<string> MacAsync(NpgsqlConnection connection, string? requested, Guid networkId, CancellationToken ct)
    {
        if (requested is null)
        {
            return MacAddress.Generate();
        }
        // A port whose delete was accepted has given its MAC up (released_at), as in Neutron.
        await using var command = new NpgsqlCommand("select exists (select 1 from ports where mac_address = $1 and released_at is null)", connection)
        {
            Parameters = { new NpgsqlParameter<string> { TypedValue = requested } },
        };
        if ((bool)(await command.ExecuteScalarAsync(ct))!)
        {
            throw NeutronException.Conflict("MacAddressInUse",
                $"Unable to complete operation for network {networkId}. The mac address {requested} is in use.");
        }
        return requested;
    }
}
