using System.Text.Json;
using OutboxSync.Simulator.Faults;
using OutboxSync.Simulator.Violations;

namespace OutboxSync.Simulator.Gateway;

/// <summary>
/// The device's objects plus the bookkeeping that judges each change: revisions (with tombstones for deleted
/// ids), parent existence and child counts. It counts the ordering violations it sees. Not thread-safe:
/// only <see cref="GatewayState"/> touches it, under its lock.
/// </summary>
internal sealed class Inventory(ViolationCounters violations, FaultInjection faults, TimeProvider time)
{
    private readonly Dictionary<string, ObjectTable> tables =
        Collections.All.ToDictionary(collection => collection, _ => new ObjectTable(), StringComparer.Ordinal);

    // Last revision of each deleted object, so a late create/update of it is recognised as out of order.
    private readonly Dictionary<ResourceRef, long> tombstones = [];

    // How many stored objects name each object as a parent; a parent with children may not be deleted.
    private readonly Dictionary<ResourceRef, int> childCounts = [];

    // Which port holds each fixed IP and MAC: a device cannot hold two ports with one address.
    private readonly AddressBook addresses = new();

    public ObjectView? Find(string collection, string id) =>
        tables[collection].TryGet(id, out var stored) ? stored.ToView() : null;

    public Page<ObjectView> List(string collection, string? marker, int limit)
    {
        var (items, next) = tables[collection].Page(marker, limit);
        return new Page<ObjectView>(items.ConvertAll(stored => stored.ToView()), next);
    }

    public Page<InterfaceView> ListInterfaces(string? marker, int limit)
    {
        var (items, next) = tables[Collections.Interfaces].Page(marker, limit);
        return new Page<InterfaceView>(items.ConvertAll(stored => stored.ToInterfaceView()), next);
    }

    /// <summary>The router's interfaces ordered by port id, or null when the router does not exist.</summary>
    public ItemList<InterfaceView>? InterfacesOf(string routerId)
    {
        if (!tables[Collections.Routers].Contains(routerId))
        {
            return null;
        }

        var items = tables[Collections.Interfaces]
            .Where(stored => string.Equals(stored.RouterId, routerId, StringComparison.Ordinal))
            .Select(stored => stored.ToInterfaceView())
            .ToList();
        return new ItemList<InterfaceView>(items);
    }

    public Dictionary<string, int> Counts() =>
        Collections.All.ToDictionary(collection => collection, collection => tables[collection].Count, StringComparer.Ordinal);

    public GatewayResult Create(string collection, MutationCall call)
    {
        var table = tables[collection];
        var key = new ResourceRef(collection, call.ResourceId);
        if (table.TryGet(call.ResourceId, out var existing))
        {
            if (call.Revision < existing.Revision)
            {
                return StaleRevision(key, existing.Revision);
            }

            // A create resent under a new key is a duplicate apply even though it changes nothing here.
            if (IsDuplicate(existing, call))
            {
                violations.CountDuplicateApply();
            }

            return GatewayResult.Error(
                StatusCodes.Status409Conflict, "already_exists", $"{key} already exists", existing.Revision);
        }

        if (tombstones.TryGetValue(key, out var deletedAt) && call.Revision <= deletedAt)
        {
            return StaleRevision(key, deletedAt);
        }

        var refusal = CheckParents(call.Parents) ?? CheckAddresses(collection, call) ?? CheckRejection(call.Attributes);
        if (refusal is not null)
        {
            return refusal;
        }

        var now = time.GetUtcNow();
        var stored = new StoredObject(call.ResourceId, call.Revision, call.Attributes, now, now, call.IdempotencyKey, call.Parents);
        Store(table, stored, previous: null);
        tombstones.Remove(key);
        return new GatewayResult(StatusCodes.Status201Created, stored.ToView());
    }

    public GatewayResult Update(string collection, MutationCall call)
    {
        var table = tables[collection];
        var key = new ResourceRef(collection, call.ResourceId);
        if (!table.TryGet(call.ResourceId, out var existing))
        {
            return tombstones.TryGetValue(key, out var deletedAt) && call.Revision <= deletedAt
                ? StaleRevision(key, deletedAt)
                : GatewayResult.NotFound($"{key} does not exist");
        }

        var refusal = CheckRevision(key, existing, call) ?? CheckParents(call.Parents) ?? CheckAddresses(collection, call)
            ?? CheckRejection(call.Attributes);
        if (refusal is not null)
        {
            return refusal;
        }

        var stored = Apply(table, existing, call);
        return new GatewayResult(StatusCodes.Status200OK, stored.ToView());
    }

    public GatewayResult Delete(string collection, MutationCall call)
    {
        var table = tables[collection];
        var key = new ResourceRef(collection, call.ResourceId);
        if (!table.TryGet(call.ResourceId, out var existing))
        {
            return GatewayResult.NotFound($"{key} does not exist");
        }

        if (childCounts.GetValueOrDefault(key) > 0)
        {
            violations.CountParentDeletedBeforeChild();
            return GatewayResult.Error(
                StatusCodes.Status409Conflict, "has_children", $"{key} still has {childCounts[key]} child object(s)").DependingOnOtherResources();
        }

        Remove(table, existing);
        tombstones[key] = existing.Revision;
        return GatewayResult.NoContent;
    }

    public GatewayResult Attach(MutationCall call)
    {
        var routerId = call.RouterId!;
        if (!tables[Collections.Routers].Contains(routerId))
        {
            violations.CountChildBeforeParent();
            return GatewayResult.NotFound($"routers/{routerId} does not exist").DependingOnOtherResources();
        }

        var table = tables[Collections.Interfaces];
        var key = new ResourceRef(Collections.Interfaces, call.ResourceId);
        if (table.TryGet(call.ResourceId, out var existing))
        {
            if (!string.Equals(existing.RouterId, routerId, StringComparison.Ordinal))
            {
                return GatewayResult.Error(
                    StatusCodes.Status409Conflict, "port_in_use", $"port {call.ResourceId} is an interface of routers/{existing.RouterId}")
                    .DependingOnOtherResources();
            }

            var refusal = CheckRevision(key, existing, call) ?? CheckParents(call.Parents) ?? CheckRejection(call.Attributes);
            if (refusal is not null)
            {
                return refusal;
            }

            return new GatewayResult(StatusCodes.Status200OK, Apply(table, existing, call).ToInterfaceView());
        }

        if (tombstones.TryGetValue(key, out var deletedAt) && call.Revision <= deletedAt)
        {
            return StaleRevision(key, deletedAt);
        }

        var newRefusal = CheckParents(call.Parents) ?? CheckRejection(call.Attributes);
        if (newRefusal is not null)
        {
            return newRefusal;
        }

        var now = time.GetUtcNow();
        var stored = new StoredObject(
            call.ResourceId, call.Revision, call.Attributes, now, now, call.IdempotencyKey, call.Parents, routerId);
        Store(table, stored, previous: null);
        tombstones.Remove(key);
        return new GatewayResult(StatusCodes.Status201Created, stored.ToInterfaceView());
    }

    public GatewayResult Detach(MutationCall call)
    {
        var routerId = call.RouterId!;
        if (!tables[Collections.Routers].Contains(routerId))
        {
            return GatewayResult.NotFound($"routers/{routerId} does not exist").DependingOnOtherResources();
        }

        var table = tables[Collections.Interfaces];
        if (!table.TryGet(call.ResourceId, out var existing)
            || !string.Equals(existing.RouterId, routerId, StringComparison.Ordinal))
        {
            return GatewayResult.NotFound($"port {call.ResourceId} is not an interface of routers/{routerId}");
        }

        Remove(table, existing);
        tombstones[new ResourceRef(Collections.Interfaces, call.ResourceId)] = existing.Revision;
        return GatewayResult.NoContent;
    }

    /// <summary>Drift injection: stores the object as given, with no checks, no counting and no tombstone change.</summary>
    public StoredObject ForcePut(
        string collection, string id, long revision, JsonElement attributes, IReadOnlyList<ResourceRef> parents, string? routerId)
    {
        var table = tables[collection];
        var now = time.GetUtcNow();
        table.TryGet(id, out var existing);
        var stored = new StoredObject(id, revision, attributes, existing?.CreatedAt ?? now, now, AppliedKey: null, parents, routerId);
        Store(table, stored, existing);
        return stored;
    }

    /// <summary>Drift injection: removes the object with no checks, no counting and no tombstone.</summary>
    public bool ForceDelete(string collection, string id)
    {
        var table = tables[collection];
        if (!table.TryGet(id, out var existing))
        {
            return false;
        }

        Remove(table, existing);
        return true;
    }

    public void Clear()
    {
        foreach (var table in tables.Values)
        {
            table.Clear();
        }

        tombstones.Clear();
        childCounts.Clear();
        addresses.Clear();
    }

    // Equal revision is allowed (idempotent) but, under a key other than the one that applied it, it is a
    // duplicate apply: the client sent the same change twice as two different operations.
    private static bool IsDuplicate(StoredObject existing, MutationCall call) =>
        call.Revision == existing.Revision
        && existing.AppliedKey is not null
        && !string.Equals(existing.AppliedKey, call.IdempotencyKey, StringComparison.Ordinal);

    private GatewayResult? CheckRevision(ResourceRef key, StoredObject existing, MutationCall call) =>
        call.Revision < existing.Revision ? StaleRevision(key, existing.Revision) : null;

    private GatewayResult StaleRevision(ResourceRef key, long currentRevision)
    {
        violations.CountOutOfOrder();
        return GatewayResult.Error(
            StatusCodes.Status409Conflict, "stale_revision", $"{key} is already at revision {currentRevision}", currentRevision);
    }

    private GatewayResult? CheckParents(IReadOnlyList<ResourceRef> parents)
    {
        foreach (var parent in parents)
        {
            if (!tables[parent.Collection].Contains(parent.Id))
            {
                violations.CountChildBeforeParent();
                return GatewayResult.Error(StatusCodes.Status409Conflict, "unknown_parent", $"{parent} does not exist").DependingOnOtherResources();
            }
        }

        return null;
    }

    private GatewayResult? CheckAddresses(string collection, MutationCall call)
    {
        if (collection != Collections.Ports || addresses.HeldByAnother(call.ResourceId, call.Attributes) is not { } held)
        {
            return null;
        }
        violations.CountAddressReuse();
        return GatewayResult.Error(StatusCodes.Status409Conflict, "address_in_use", held).DependingOnOtherResources();
    }

    private GatewayResult? CheckRejection(JsonElement attributes)
    {
        var reason = faults.RejectionFor(attributes);
        return reason is null
            ? null
            : GatewayResult.Error(StatusCodes.Status422UnprocessableEntity, "rejected", reason);
    }

    private StoredObject Apply(ObjectTable table, StoredObject existing, MutationCall call)
    {
        if (IsDuplicate(existing, call))
        {
            violations.CountDuplicateApply();
        }

        var sameRevision = call.Revision == existing.Revision;
        var stored = existing with
        {
            Revision = call.Revision,
            Attributes = call.Attributes,
            UpdatedAt = time.GetUtcNow(),
            AppliedKey = sameRevision ? existing.AppliedKey ?? call.IdempotencyKey : call.IdempotencyKey,
            Parents = call.Parents,
        };
        Store(table, stored, existing);
        return stored;
    }

    private void Store(ObjectTable table, StoredObject stored, StoredObject? previous)
    {
        if (previous is not null)
        {
            Unlink(previous);
            if (ReferenceEquals(table, tables[Collections.Ports]))
            {
                addresses.Release(previous);
            }
        }

        foreach (var parent in stored.Parents)
        {
            childCounts[parent] = childCounts.GetValueOrDefault(parent) + 1;
        }

        if (ReferenceEquals(table, tables[Collections.Ports]))
        {
            addresses.Hold(stored);
        }
        table.Put(stored);
    }

    private void Remove(ObjectTable table, StoredObject stored)
    {
        Unlink(stored);
        if (ReferenceEquals(table, tables[Collections.Ports]))
        {
            addresses.Release(stored);
        }
        table.Remove(stored.Id);
    }

    private void Unlink(StoredObject stored)
    {
        foreach (var parent in stored.Parents)
        {
            var remaining = childCounts.GetValueOrDefault(parent) - 1;
            if (remaining > 0)
            {
                childCounts[parent] = remaining;
            }
            else
            {
                childCounts.Remove(parent);
            }
        }
    }
}
