using System.Text.Json;
using System.Text.Json.Nodes;
using OutboxSync.Leases;
using OutboxSync.Outbox;
using OutboxSync.Resources;
using OutboxSync.Worker.Ordering;

namespace OutboxSync.Worker.Backend;

/// <summary>Maps a drain step onto the back-end contract's URLs and bodies.</summary>
internal static class BackendRequests
{
    public static BackendRequest For(DrainStep.Send send, FencingToken token)
    {
        var e = send.Entry;
        var collection = ResourceType.FromName(e.ResourceType)!.Collection;
        var key = KeyOf(e);
        return send.Operation switch
        {
            OutboxOperation.Create => new BackendRequest(HttpMethod.Post, $"v1/{collection}", StateBody(e), token, key, e.TraceParent),
            OutboxOperation.Update => new BackendRequest(HttpMethod.Put, $"v1/{collection}/{e.ResourceId}", StateBody(e), token, key, e.TraceParent),
            OutboxOperation.Delete => new BackendRequest(HttpMethod.Delete, $"v1/{collection}/{e.ResourceId}", null, token, key, e.TraceParent),
            OutboxOperation.AddInterface => new BackendRequest(HttpMethod.Put, InterfacePath(e), InterfaceBody(e), token, key, e.TraceParent),
            OutboxOperation.RemoveInterface => new BackendRequest(HttpMethod.Delete, InterfacePath(e), null, token, key, e.TraceParent),
            _ => throw new InvalidOperationException($"Unknown operation {send.Operation}"),
        };
    }

    /// <summary>The PUT that follows a create answered already_exists when the create carried later updates.</summary>
    public static BackendRequest UpdateAfterExisting(DrainStep.Send send, FencingToken token)
    {
        var e = send.Entry;
        var collection = ResourceType.FromName(e.ResourceType)!.Collection;
        return new BackendRequest(HttpMethod.Put, $"v1/{collection}/{e.ResourceId}", StateBody(e), token, KeyOf(e) + "-update", e.TraceParent);
    }

    /// <summary>The entry's Idempotency-Key: its own random key, never reused even when seq values are after a
    /// rewind (migrations/020); entries written before that migration keep their seq-based key.</summary>
    private static string KeyOf(PendingEntry e) => e.IdempotencyKey is { } unique ? unique.ToString() : $"seq-{e.Seq}";

    /// <summary>The port object's delete that follows a confirmed remove_interface.</summary>
    public static BackendRequest DeletePortAfterInterface(DrainStep.Send send, FencingToken token) =>
        new(HttpMethod.Delete, $"v1/ports/{send.Entry.ResourceId}", null, token, $"seq-{send.Entry.Seq}-port", send.Entry.TraceParent);

    private static string StateBody(PendingEntry e) => new JsonObject
    {
        ["id"] = e.ResourceId.ToString(),
        ["revision"] = e.Revision,
        ["attributes"] = JsonNode.Parse(e.Payload),
    }.ToJsonString();

    private static string InterfacePath(PendingEntry e)
    {
        using var doc = JsonDocument.Parse(e.Payload);
        PendingEntry.TryGuid(doc.RootElement, "router_id", out var router);
        return $"v1/routers/{router}/interfaces/{e.ResourceId}";
    }

    // The interface is how the back end holds its port: its attributes are the port's (name, description, MAC, …), so
    // a rename reaches the back end, with the subnet and address it is attached by. The router is in the path.
    private static string InterfaceBody(PendingEntry e)
    {
        var attributes = JsonNode.Parse(e.Payload)!.AsObject();
        attributes.Remove("router_id");
        return new JsonObject
        {
            ["revision"] = e.Revision,
            ["attributes"] = attributes,
        }.ToJsonString();
    }
}
