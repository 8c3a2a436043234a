using System.Collections.Concurrent;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Npgsql;
using OutboxSync.Leases;

namespace OutboxSync.Worker.Drain;

/// <summary>
/// Renews every lease this replica holds in one statement per tick (cadence from the injected TimeProvider) and
/// keeps the replica's worker_replicas row fresh. A lease the database no longer shows is marked lost at once, so
/// its drainer stops; if the database is unreachable, leases simply age out of their local trust window.
/// </summary>
public sealed class LeaseHeartbeat(
    LeaseStore leases,
    NpgsqlDataSource dataSource,
    IOptions<DrainOptions> drainOptions,
    TimeProvider time,
    ILogger<LeaseHeartbeat> logger) : BackgroundService
{
    private readonly ConcurrentDictionary<Guid, ResourceLease> _held = new();

    public int HeldCount => _held.Count;

    public void Track(ResourceLease lease) => _held[lease.ResourceId] = lease;

    public void Untrack(ResourceLease lease) => _held.TryRemove(new KeyValuePair<Guid, ResourceLease>(lease.ResourceId, lease));

    /// <summary>One heartbeat: renew all held leases and the replica row. Returns the number of leases renewed.</summary>
    public async Task<int> BeatAsync(CancellationToken ct)
    {
        var held = _held.Values.ToList();
        var renewed = await leases.RenewAsync(held, ct);
        foreach (var lost in held.Where(l => l.IsLost))
        {
            _held.TryRemove(new KeyValuePair<Guid, ResourceLease>(lost.ResourceId, lost));
        }
        await UpsertReplicaAsync(ct);
        return renewed;
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var every = leases.Options.EffectiveRenewEvery;
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await BeatAsync(stoppingToken);
            }
            catch (Exception e) when (!stoppingToken.IsCancellationRequested)
            {
                DrainLog.HeartbeatFailed(logger, e);
            }
            try
            {
                await Task.Delay(every, time, stoppingToken);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken);
        try
        {
            await using var cmd = dataSource.CreateCommand("delete from worker_replicas where instance_id = @id");
            cmd.Parameters.AddWithValue("id", drainOptions.Value.InstanceId);
            await cmd.ExecuteNonQueryAsync(cancellationToken);
        }
        catch (NpgsqlException)
        {
            // Best effort: a stale replica row is only informational.
        }
    }

    private async Task UpsertReplicaAsync(CancellationToken ct)
    {
        // Informational only (operators see who drains); nothing decides ownership from this row. Rows of replicas
        // that died without deregistering (SIGKILL) are pruned once their heartbeat is an hour old.
        await using var cmd = dataSource.CreateCommand("""
            insert into worker_replicas (instance_id, host, started_at, heartbeat_at, in_flight)
            values (@id, @host, clock_timestamp(), clock_timestamp(), @inFlight)
            on conflict (instance_id) do update set heartbeat_at = clock_timestamp(), in_flight = excluded.in_flight;
            delete from worker_replicas where heartbeat_at < clock_timestamp() - interval '1 hour'
            """);
        cmd.Parameters.AddWithValue("id", drainOptions.Value.InstanceId);
        cmd.Parameters.AddWithValue("host", Environment.MachineName);
        cmd.Parameters.AddWithValue("inFlight", _held.Count);
        await cmd.ExecuteNonQueryAsync(ct);
    }
}
