using Microsoft.Extensions.Options;
using Npgsql;
using NpgsqlTypes;

namespace OutboxSync.Leases;

/// <summary>
/// The per-resource lock: acquire, renew and release, each ONE standalone statement. No row lock is held across
/// work, no advisory lock and no session state is used, so every call works through PgBouncer transaction pooling
/// and a dead connection can never leave a phantom holder. Expiry is always computed by the database clock.
/// </summary>
public sealed class LeaseStore(NpgsqlDataSource dataSource, IOptions<LeaseOptions> options, TimeProvider time)
{
    // Invariant: at most one live lease per resource. A row is (re)taken only when absent or expired by the
    // database clock; the ON CONFLICT arbiter serialises concurrent acquirers of one id, so exactly one wins.
    // Invariant: the winner's token comes from the sequence, so it is larger than every token issued before it.
    // The previous holder (for the takeover metric only) is read from the statement's snapshot in the same
    // statement; under a race it can name an older holder than the row actually overwritten, and no decision
    // depends on it.
    // {0} names the candidates, one row per resource: ON CONFLICT DO UPDATE may touch a row only once per statement.
    // Every candidate comes back, with a null token when it was not won, so a caller knows a lost race (another
    // replica took it first) from nothing being there.
    private const string AcquireCtesTemplate = """
        with candidates as ({0}
        ), previous as (
            select l.resource_id, l.holder from resource_leases l join candidates c on c.resource_id = l.resource_id
        ), won as (
            insert into resource_leases as l (resource_id, holder, token, acquired_at, expires_at)
            select resource_id, @holder, nextval('fencing_tokens'), clock_timestamp(), clock_timestamp() + @ttl
            from candidates
            on conflict (resource_id) do update
                set holder = excluded.holder, token = excluded.token,
                    acquired_at = excluded.acquired_at, expires_at = excluded.expires_at
                where l.expires_at < clock_timestamp()
            returning l.resource_id, l.token
        )
        """;

    // Every candidate comes back, with a null token when it was not won.
    private const string AcquireSelect = """
        select c.resource_id, won.token, previous.holder
        from candidates c
        left join won on won.resource_id = c.resource_id
        left join previous on previous.resource_id = c.resource_id
        """;

    // The ids the caller names (made distinct before sending).
    private static readonly string AcquireSql = AcquireCtes("select unnest(@ids) as resource_id") + AcquireSelect;

    // Invariant: only the current, still-live holder extends a lease; once it expired (even if nobody took it
    // yet) the holder must re-acquire and get a new token, so an old token never regains authority.
    private const string RenewSql = """
        update resource_leases as l
        set expires_at = clock_timestamp() + @ttl
        from unnest(@ids, @tokens) as h(resource_id, token)
        where l.resource_id = h.resource_id and l.token = h.token and l.expires_at > clock_timestamp()
        returning l.resource_id
        """;

    // Invariant: a release by anyone but the current token holder changes nothing.
    // The row is deleted even when expired (nobody has taken it yet, so no newer token exists), and the statement
    // reports whether it was still live, by the database clock: a holder that outlived its lease must hear of it.
    private const string ReleaseSql = """
        delete from resource_leases where resource_id = @id and token = @token
        returning expires_at > clock_timestamp()
        """;

    public LeaseOptions Options => options.Value;

    /// <summary>Tries to take the lease on each id; returns the ones won (ids under a live lease are skipped). A won
    /// lease whose row already existed (expired, not released) names its <see cref="ResourceLease.PreviousHolder"/>.</summary>
    public async Task<IReadOnlyList<ResourceLease>> AcquireAsync(IEnumerable<Guid> resourceIds, string holder, CancellationToken ct = default)
    {
        var ids = resourceIds.Distinct().ToArray();
        if (ids.Length == 0)
        {
            return [];
        }
        await using var cmd = dataSource.CreateCommand(AcquireSql);
        cmd.Parameters.Add(new NpgsqlParameter<Guid[]>("ids", NpgsqlDbType.Array | NpgsqlDbType.Uuid) { TypedValue = ids });
        var sentAt = BindAcquire(cmd.Parameters, holder);
        var won = new List<ResourceLease>();
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
        {
            if (!reader.IsDBNull(1))
            {
                won.Add(Granted(reader.GetGuid(0), holder, reader.GetInt64(1), sentAt, reader.IsDBNull(2) ? null : reader.GetString(2)));
            }
        }
        return won;
    }

    /// <summary>The acquire's common table expressions over <paramref name="candidates"/> (a query naming one
    /// <c>resource_id</c> per row): <c>candidates</c>, <c>previous</c> (their expired rows' holders) and <c>won</c>
    /// (<c>resource_id, token</c> of each lease taken). Its parameters are <c>@holder</c> and <c>@ttl</c>
    /// (<see cref="BindAcquire"/>). The drain's claim (<see cref="OutboxSync.Outbox.OutboxClaim"/>) builds on it, so
    /// the lease's invariants are written here once.</summary>
    public static string AcquireCtes(string candidates) =>
        string.Format(System.Globalization.CultureInfo.InvariantCulture, AcquireCtesTemplate, candidates);

    /// <summary>Binds <see cref="AcquireCtes"/>' parameters and returns the instant the acquire is sent from, which a
    /// won lease's trust deadline counts from (<see cref="Granted"/>).</summary>
    public long BindAcquire(NpgsqlParameterCollection parameters, string holder)
    {
        parameters.AddWithValue("holder", holder);
        parameters.AddWithValue("ttl", options.Value.Duration);
        // Taken before sending: the database's expiry is measured from a later instant than our trust deadline.
        return time.GetTimestamp();
    }

    /// <summary>A lease the statement bound by <see cref="BindAcquire"/> won.</summary>
    public ResourceLease Granted(Guid resourceId, string holder, long token, long sentAt, string? previousHolder) =>
        new(resourceId, holder, new FencingToken(token), time, sentAt, options.Value.TrustWindow) { PreviousHolder = previousHolder };

    public async Task<ResourceLease?> AcquireAsync(Guid resourceId, string holder, CancellationToken ct = default) =>
        (await AcquireAsync([resourceId], holder, ct)).SingleOrDefault();

    /// <summary>
    /// Renews every given lease in one statement. Renewed leases get a later trust deadline; the others are
    /// marked lost (their holders stop acting). Returns the number renewed.
    /// </summary>
    public async Task<int> RenewAsync(IReadOnlyCollection<ResourceLease> leases, CancellationToken ct = default)
    {
        if (leases.Count == 0)
        {
            return 0;
        }
        var o = options.Value;
        var sentAt = time.GetTimestamp();
        await using var cmd = dataSource.CreateCommand(RenewSql);
        cmd.Parameters.Add(new NpgsqlParameter<Guid[]>("ids", NpgsqlDbType.Array | NpgsqlDbType.Uuid) { TypedValue = leases.Select(l => l.ResourceId).ToArray() });
        cmd.Parameters.Add(new NpgsqlParameter<long[]>("tokens", NpgsqlDbType.Array | NpgsqlDbType.Bigint) { TypedValue = leases.Select(l => l.Token.Value).ToArray() });
        cmd.Parameters.AddWithValue("ttl", o.Duration);
        var renewed = new HashSet<Guid>();
        await using (var reader = await cmd.ExecuteReaderAsync(ct))
        {
            while (await reader.ReadAsync(ct))
            {
                renewed.Add(reader.GetGuid(0));
            }
        }
        foreach (var lease in leases)
        {
            if (renewed.Contains(lease.ResourceId))
            {
                lease.Extend(sentAt, o.TrustWindow);
            }
            else
            {
                lease.MarkLost();
            }
        }
        return renewed.Count;
    }

    public async Task<bool> RenewAsync(ResourceLease lease, CancellationToken ct = default) =>
        await RenewAsync([lease], ct) == 1;

    /// <summary>Gives the lease up; idempotent (a repeated release finds <see cref="LeaseRelease.NotHeld"/>).</summary>
    public async Task<LeaseRelease> ReleaseAsync(Guid resourceId, FencingToken token, CancellationToken ct = default)
    {
        await using var cmd = dataSource.CreateCommand(ReleaseSql);
        cmd.Parameters.AddWithValue("id", resourceId);
        cmd.Parameters.AddWithValue("token", token.Value);
        return await cmd.ExecuteScalarAsync(ct) switch
        {
            true => LeaseRelease.Released,
            false => LeaseRelease.RanOut,
            _ => LeaseRelease.NotHeld,
        };
    }

    public Task<LeaseRelease> ReleaseAsync(ResourceLease lease, CancellationToken ct = default)
    {
        lease.MarkLost();
        return ReleaseAsync(lease.ResourceId, lease.Token, ct);
    }
}
