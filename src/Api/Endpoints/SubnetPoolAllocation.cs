using Microsoft.EntityFrameworkCore;
using OutboxSync.Api.Auth;
using OutboxSync.Api.Errors;
using OutboxSync.Ipam;
using OutboxSync.Resources;

namespace OutboxSync.Api.Endpoints;

/// <summary>
/// A subnet's CIDR cut from a subnet pool, inside the subnet create's accept transaction: by the CIDR asked for, or
/// by prefix length (the pool's default when none is given).
/// </summary>
public static class SubnetPoolAllocation
{
    /// <param name="alsoTaken">Subnets of the same request (a bulk create) not yet written.</param>
    public static async Task<SubnetCidr> CutAsync(ResourceServices s, TenantContext tenant, Subnet subnet, SubnetCidr? requested, int? prefixLength,
        IEnumerable<Subnet> alsoTaken, CancellationToken ct)
    {
        var poolId = subnet.SubnetpoolId ?? throw new ArgumentException("subnet has no pool", nameof(subnet));
        // The invariant "no two subnets of a pool overlap" rests on this lock: every cut from the pool holds the
        // pool's row FOR UPDATE until it commits, so the CIDRs read next are all there are until then. Visible
        // pools only: the caller's own, shared ones, or any for an admin.
        var pool = await s.Db.SubnetPools
            .FromSqlRaw("select * from subnetpools where id = {0} and ({1} or project_id = {2} or shared) for update",
                poolId, tenant.IsAdmin, tenant.ProjectId)
            .SingleOrDefaultAsync(ct);
        if (pool is null || pool.Status == ResourceStatus.PendingDelete)
        {
            throw SubnetPoolsEndpoints.NotFound(poolId);
        }
        if (pool.IpVersion != subnet.IpVersion)
        {
            throw NeutronException.BadRequest($"Cannot allocate IPv{subnet.IpVersion} subnet from IPv{pool.IpVersion} subnet pool.");
        }
        var length = requested?.Prefix ?? prefixLength ?? pool.DefaultPrefixlen;
        if (length > pool.MaxPrefixlen)
        {
            throw NeutronException.BadRequest($"Unable to allocate subnet with prefix length {length}, maximum allowed prefix is {pool.MaxPrefixlen}.");
        }
        if (length < pool.MinPrefixlen)
        {
            throw NeutronException.BadRequest($"Unable to allocate subnet with prefix length {length}, minimum allowed prefix is {pool.MinPrefixlen}.");
        }
        var held = await s.Db.Subnets.AsNoTracking().Where(x => x.SubnetpoolId == pool.Id).Select(x => x.Cidr).ToListAsync(ct);
        var allocated = held.Concat(alsoTaken.Where(x => x.SubnetpoolId == pool.Id).Select(x => x.Cidr)).Select(SubnetCidr.Parse).ToList();
        var prefixes = pool.Prefixes.Select(SubnetCidr.Parse).ToList();
        if (requested is not null)
        {
            return SubnetPrefixes.IsFree(prefixes, allocated, requested) ? requested
                : throw NeutronException.BadRequest("Failed to allocate subnet: Cannot allocate requested subnet from the available set of prefixes.");
        }
        return SubnetPrefixes.Allocate(prefixes, allocated, length)
            ?? throw NeutronException.BadRequest($"Failed to allocate subnet: Insufficient prefix space to allocate subnet size /{length}.");
    }
}
