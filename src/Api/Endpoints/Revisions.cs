using System.Globalization;
using OutboxSync.Api.Errors;
using OutboxSync.Resources;

namespace OutboxSync.Api.Endpoints;

/// <summary>Revision bookkeeping: If-Match preconditions and the bump every client change makes.</summary>
public static class Revisions
{
    /// <summary><c>If-Match: revision_number=N</c> (several, comma-separated, must all match) → 412 when stale.</summary>
    public static void CheckIfMatch(HttpRequest request, StandardResource resource)
    {
        var header = request.Headers.IfMatch.ToString();
        if (string.IsNullOrWhiteSpace(header))
        {
            return;
        }
        foreach (var part in header.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            const string prefix = "revision_number=";
            if (!part.StartsWith(prefix, StringComparison.Ordinal)
                || !long.TryParse(part[prefix.Length..], NumberStyles.None, CultureInfo.InvariantCulture, out var expected))
            {
                throw NeutronException.BadRequest($"Invalid If-Match header '{Requests.RequestBody.Truncate(part)}'; expected revision_number=N");
            }
            if (expected != resource.RevisionNumber)
            {
                throw NeutronException.PreconditionFailed(expected, resource.RevisionNumber);
            }
        }
    }

    /// <summary>
    /// A client change: new desired revision, PENDING_UPDATE unless it was never applied yet. Returns the outbox
    /// operation that carries it: <c>create</c> for a resource whose create failed (nothing exists at the back end,
    /// so an update there would be refused), otherwise <c>update</c> (a still-pending create absorbs it).
    /// </summary>
    public static string Bump(StandardResource resource, DateTimeOffset now)
    {
        var operation = resource.AppliedRevision == 0 && resource.Status == ResourceStatus.Error
            ? Outbox.OutboxOperation.Create
            : Outbox.OutboxOperation.Update;
        resource.RevisionNumber++;
        resource.UpdatedAt = now;
        resource.StatusReason = null;
        // Never applied (still pending, or its create failed): the back end has yet to create it.
        resource.Status = resource.AppliedRevision == 0 ? ResourceStatus.PendingCreate : ResourceStatus.PendingUpdate;
        return operation;
    }

    public static void Initialize(StandardResource resource, DateTimeOffset now)
    {
        resource.RevisionNumber = 1;
        resource.AppliedRevision = 0;
        resource.Status = ResourceStatus.PendingCreate;
        resource.CreatedAt = now;
        resource.UpdatedAt = now;
    }

    /// <summary>Timestamps at the database's microsecond precision, so the view equals what a later read returns.</summary>
    public static DateTimeOffset Now(TimeProvider time)
    {
        var now = time.GetUtcNow();
        return now.AddTicks(-(now.Ticks % 10));
    }

    /// <summary>A resource on its way out takes no further changes (409, as Neutron answers a change racing a delete).</summary>
    public static void EnsureNotDeleting(StandardResource resource)
    {
        if (resource.Status == ResourceStatus.PendingDelete)
        {
            throw BeingDeleted(resource.Type, resource.Id);
        }
    }

    public static NeutronException BeingDeleted(ResourceType type, Guid id) =>
        NeutronException.Conflict("ResourceBeingDeleted", $"{type.Name} {id} is being deleted and cannot be changed.");
}
