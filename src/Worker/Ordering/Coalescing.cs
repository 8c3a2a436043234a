using System.Text.Json;
using OutboxSync.Outbox;
using OutboxSync.Resources;

namespace OutboxSync.Worker.Ordering;

/// <summary>The next thing to do for one resource, decided from its pending entries alone.</summary>
public abstract record DrainStep
{
    /// <summary>Nothing pending, or the head is not due yet.</summary>
    public sealed record Idle : DrainStep;

    /// <summary>The head entry cannot be sent at all (unparseable payload, unknown operation).</summary>
    public sealed record Poison(PendingEntry Entry, string Reason) : DrainStep;

    /// <summary>
    /// Send <paramref name="Entry"/>'s state with <paramref name="Operation"/>; <paramref name="Covered"/> are the
    /// earlier entries it carries (superseded on success). <paramref name="Fallback"/> is used when this step's
    /// dependencies block it (a delete waiting for children falls back to sending the create/update run).
    /// </summary>
    public sealed record Send(string Operation, PendingEntry Entry, IReadOnlyList<PendingEntry> Covered, DrainStep? Fallback = null) : DrainStep
    {
        public IEnumerable<long> AllSeqs => Covered.Select(e => e.Seq).Append(Entry.Seq);

        public IEnumerable<PendingEntry> All => Covered.Append(Entry);

        /// <summary>True when a create is sent with state from later updates (an existing object needs a PUT too).</summary>
        public bool CarriesUpdates => Operation == OutboxOperation.Create && Entry.Operation != OutboxOperation.Create;
    }

    /// <summary>
    /// The back end already holds a revision at least as new as this create/update run (an operator re-queued an
    /// old failed entry, say): sending it would move the back end backwards, so it is superseded without a call.
    /// </summary>
    public sealed record AlreadyApplied(PendingEntry Entry, IReadOnlyList<PendingEntry> Covered) : DrainStep;

    /// <summary>A create that was never sent, followed by a delete: nothing to call, the row just goes.</summary>
    public sealed record Cancel(PendingEntry Delete, IReadOnlyList<PendingEntry> Covered, DrainStep Fallback) : DrainStep;
}

/// <summary>
/// Collapses a resource's consecutive pending entries into one call. Entries carry the full desired state at a
/// revision, so a run of creates/updates needs only its latest state sent; a delete after such a run makes the run
/// moot; and a create that was never dispatched followed by a delete needs no call at all.
/// </summary>
public static class Coalescing
{
    public static DrainStep Plan(ResourceBacklog backlog)
    {
        var pending = backlog.Pending;
        if (pending.Count == 0 || !pending[0].Due)
        {
            return new DrainStep.Idle();
        }
        var head = pending[0];
        if (Validate(head) is { } poison)
        {
            return new DrainStep.Poison(head, poison);
        }

        switch (head.Operation)
        {
            case OutboxOperation.Create or OutboxOperation.Update:
            {
                var last = 0;
                while (last + 1 < pending.Count
                    && pending[last + 1].Operation == OutboxOperation.Update
                    && Validate(pending[last + 1]) is null)
                {
                    last++;
                }
                var run = pending.Take(last + 1).ToList();
                DrainStep sendRun = backlog.Row is { } row && row.AppliedRevision >= run[^1].Revision
                    ? new DrainStep.AlreadyApplied(run[^1], run[..^1])
                    : new DrainStep.Send(head.Operation, run[^1], run[..^1]);
                if (last + 1 < pending.Count && pending[last + 1].Operation == OutboxOperation.Delete)
                {
                    var delete = pending[last + 1];
                    var neverSent = head.Operation == OutboxOperation.Create
                        && !backlog.EverDispatched
                        && (backlog.Row is null || backlog.Row.AppliedRevision == 0);
                    return neverSent
                        ? new DrainStep.Cancel(delete, run, sendRun)
                        : new DrainStep.Send(OutboxOperation.Delete, delete, run, sendRun);
                }
                return sendRun;
            }
            default:
                return new DrainStep.Send(head.Operation, head, []);
        }
    }

    /// <summary>Returns why an entry can never be sent, or null when it is well-formed.</summary>
    public static string? Validate(PendingEntry entry)
    {
        if (ResourceType.FromName(entry.ResourceType) is null)
        {
            return $"unknown resource type '{entry.ResourceType}'";
        }
        if (entry.Operation is not (OutboxOperation.Create or OutboxOperation.Update or OutboxOperation.Delete
            or OutboxOperation.AddInterface or OutboxOperation.RemoveInterface))
        {
            return $"unknown operation '{entry.Operation}'";
        }
        if (entry.Operation is OutboxOperation.AddInterface or OutboxOperation.RemoveInterface && entry.ResourceType != ResourceType.Port.Name)
        {
            return $"{entry.Operation} must be recorded on the interface port, not a {entry.ResourceType}";
        }
        try
        {
            using var doc = JsonDocument.Parse(entry.Payload);
            if (doc.RootElement.ValueKind != JsonValueKind.Object)
            {
                return $"payload is a JSON {doc.RootElement.ValueKind}, not an object";
            }
            if (entry.Operation is OutboxOperation.AddInterface or OutboxOperation.RemoveInterface)
            {
                if (!PendingEntry.TryGuid(doc.RootElement, "router_id", out _))
                {
                    return "interface payload has no valid router_id";
                }
                if (entry.Operation == OutboxOperation.AddInterface && !PendingEntry.TryGuid(doc.RootElement, "subnet_id", out _))
                {
                    return "interface payload has no valid subnet_id";
                }
            }
        }
        catch (JsonException e)
        {
            return $"payload is not valid JSON: {e.Message}";
        }
        return null;
    }
}
