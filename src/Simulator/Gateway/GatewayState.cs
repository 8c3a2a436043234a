using Microsoft.Extensions.Options;
using OutboxSync.Simulator.Faults;
using OutboxSync.Simulator.Fencing;
using OutboxSync.Simulator.Idempotency;
using OutboxSync.Simulator.Violations;

namespace OutboxSync.Simulator.Gateway;

/// <summary>
/// The one lock around the device's state. Replay, fencing and apply happen inside it as one step, so two
/// racing calls with the same key cannot both apply. Never held across a delay.
/// </summary>
internal sealed class GatewayState
{
    private readonly Lock gate = new();
    private readonly Inventory inventory;
    private readonly FencingTokens fencing = new();
    private readonly IdempotencyCache idempotency;
    private readonly ViolationCounters violations;
    private readonly TimeProvider time;

    public GatewayState(
        ViolationCounters violations, FaultInjection faults, TimeProvider time, IOptions<SimulatorOptions> options)
    {
        this.violations = violations;
        this.time = time;
        inventory = new Inventory(violations, faults, time);
        idempotency = new IdempotencyCache(options.Value.IdempotencyCacheCapacity);
    }

    public T Read<T>(Func<Inventory, T> read)
    {
        lock (gate)
        {
            return read(inventory);
        }
    }

    /// <summary>For the admin drift endpoints: changes that bypass replay, fencing and every check.</summary>
    public T Edit<T>(Func<Inventory, T> edit)
    {
        lock (gate)
        {
            return edit(inventory);
        }
    }

    /// <summary>
    /// Replays a known (resource, key) result; otherwise checks the fencing token, applies, and caches the
    /// final result (including rejections) for later repeats of the key, unless it depends on other resources'
    /// state (<see cref="GatewayResult.DependsOnOtherResources"/>). A key repeated with another method, path or body
    /// is refused 422 and counted (<c>key_reuse</c>), never replayed. A call whose deadline has passed gets
    /// <see cref="GatewayResult.DeadlineExceeded"/> and touches nothing: under this lock is where "applied before the
    /// deadline" is decided.
    /// </summary>
    public (GatewayResult Result, bool Replayed) Mutate(
        MutationCall call, CallSignature signature, Func<Inventory, MutationCall, GatewayResult> apply)
    {
        lock (gate)
        {
            if (call.Deadline is { } deadline && time.GetUtcNow() >= deadline)
            {
                return (GatewayResult.DeadlineExceeded, false);
            }

            if (idempotency.TryGet(call.ResourceId, call.IdempotencyKey, out var cached, out var first))
            {
                if (!signature.IsSameCallAs(first))
                {
                    // Replaying the first call's answer would report a change that was never made.
                    violations.CountKeyReuse();
                    return (GatewayResult.Error(
                        StatusCodes.Status422UnprocessableEntity,
                        "idempotency_key_reused",
                        $"Idempotency-Key {call.IdempotencyKey} was first used on {call.ResourceId} by {first} with another body; a new call needs a new key"), false);
                }
                return (cached, true);
            }

            GatewayResult result;
            if (fencing.TryAccept(call.ResourceId, call.FencingToken))
            {
                result = apply(inventory, call);
            }
            else
            {
                violations.CountStaleToken();
                result = GatewayResult.Error(
                    StatusCodes.Status409Conflict,
                    "stale_token",
                    $"fencing token {call.FencingToken} is below {fencing.HighestFor(call.ResourceId)} already seen for {call.ResourceId}");
            }

            if (!result.DependsOnOtherResources)
            {
                idempotency.Store(call.ResourceId, call.IdempotencyKey, result, signature);
            }
            return (result, false);
        }
    }

    /// <summary>Forgets objects, tombstones, fencing tokens and cached results.</summary>
    public void Reset()
    {
        lock (gate)
        {
            inventory.Clear();
            fencing.Clear();
            idempotency.Clear();
        }
    }
}
