using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using OutboxSync.Leases;

namespace OutboxSync.Worker.Backend;

/// <summary>One logical back-end call; retries of it reuse the same idempotency key.</summary>
public sealed record BackendRequest(HttpMethod Method, string Path, string? Body, FencingToken Token, string IdempotencyKey, string? TraceParent)
{
    public override string ToString() => $"{Method} {Path} ({IdempotencyKey})";
}

/// <summary>Typed HTTP client for the back end: sends one attempt and classifies the answer. No retries here.</summary>
public sealed class BackendClient(HttpClient http)
{
    /// <summary>The header that tells the back end when we stop waiting (docs/backend-api.md, Deadlines).</summary>
    public const string DeadlineHeader = "X-Request-Deadline";

    /// <summary>
    /// Sends one attempt. <paramref name="deadline"/> (wall clock) goes out as <see cref="DeadlineHeader"/>: the back
    /// end neither starts nor applies the call after it, and ends its flight then.
    /// </summary>
    public async Task<BackendOutcome> SendOnceAsync(BackendRequest request, DateTimeOffset deadline, CancellationToken ct)
    {
        using var message = new HttpRequestMessage(request.Method, request.Path);
        message.Headers.TryAddWithoutValidation("X-Fencing-Token", request.Token.ToString());
        message.Headers.TryAddWithoutValidation("Idempotency-Key", request.IdempotencyKey);
        message.Headers.TryAddWithoutValidation(DeadlineHeader, FormatDeadline(deadline));
        if (request.TraceParent is not null)
        {
            // Our step's span when tracing is on (it continues the entry's trace), else the entry's own traceparent.
            message.Headers.TryAddWithoutValidation("traceparent", System.Diagnostics.Activity.Current?.Id ?? request.TraceParent);
        }
        if (request.Body is not null)
        {
            message.Content = new StringContent(request.Body, Encoding.UTF8);
            message.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        }
        try
        {
            using var response = await http.SendAsync(message, HttpCompletionOption.ResponseContentRead, ct);
            var body = await response.Content.ReadAsStringAsync(ct);
            return Classify(response.StatusCode, body);
        }
        catch (HttpRequestException e)
        {
            // Connection refused/reset: the call may or may not have been applied; the idempotency key covers a retry.
            return new BackendOutcome(BackendOutcomeKind.Transient, null, $"connection failed: {e.Message}");
        }
        catch (IOException e)
        {
            return new BackendOutcome(BackendOutcomeKind.Transient, null, $"connection failed: {e.Message}");
        }
    }

    /// <summary>The listing of router interfaces (GET /v1/interfaces): every interface of every router, keyed by port id.</summary>
    public const string Interfaces = "interfaces";

    /// <summary>One page of a collection listing (GET /v1/{collection}?limit&amp;marker, or <see cref="Interfaces"/>);
    /// throws on any failure.</summary>
    public async Task<(IReadOnlyList<BackendObject> Items, string? NextMarker)> ListPageAsync(string collection, int limit, string? marker, CancellationToken ct)
    {
        var path = $"v1/{collection}?limit={limit}" + (marker is null ? "" : $"&marker={Uri.EscapeDataString(marker)}");
        using var response = await http.GetAsync(path, ct);
        response.EnsureSuccessStatusCode();
        using var doc = JsonDocument.Parse(await response.Content.ReadAsStringAsync(ct));
        var routerInterface = collection == Interfaces;
        var items = new List<BackendObject>();
        foreach (var item in doc.RootElement.GetProperty("items").EnumerateArray())
        {
            if (Guid.TryParse(item.GetProperty(routerInterface ? "port_id" : "id").GetString(), out var id))
            {
                var attributes = item.TryGetProperty("attributes", out var a) && a.ValueKind == JsonValueKind.Object
                    ? System.Text.Json.Nodes.JsonNode.Parse(a.GetRawText())?.AsObject() : null;
                Guid? router = routerInterface && Guid.TryParse(item.GetProperty("router_id").GetString(), out var r) ? r : null;
                items.Add(new BackendObject(id, item.GetProperty("revision").GetInt64(), ParentsOf(item, routerInterface), attributes, router));
            }
        }
        var next = doc.RootElement.TryGetProperty("next_marker", out var m) && m.ValueKind == JsonValueKind.String ? m.GetString() : null;
        return (items, next);
    }

    // The parent links the contract defines (docs/backend-api.md, Resources): network_id and fixed_ips[].subnet_id of a
    // collection object; subnet_id of a router interface (its router is in its path). A port object's free-form
    // attributes may carry an interface's subnet_id too, which is not a parent link there, hence the two shapes.
    private static IReadOnlyList<Guid> ParentsOf(JsonElement item, bool routerInterface)
    {
        var parents = new List<Guid>();
        if (!item.TryGetProperty("attributes", out var attributes) || attributes.ValueKind != JsonValueKind.Object)
        {
            return parents;
        }
        if (routerInterface)
        {
            if (attributes.TryGetProperty("subnet_id", out var ifaceSubnet) && ifaceSubnet.ValueKind == JsonValueKind.String
                && Guid.TryParse(ifaceSubnet.GetString(), out var ifaceSubnetId))
            {
                parents.Add(ifaceSubnetId);
            }
            return parents;
        }
        if (attributes.TryGetProperty("network_id", out var network) && network.ValueKind == JsonValueKind.String
            && Guid.TryParse(network.GetString(), out var networkId))
        {
            parents.Add(networkId);
        }
        if (attributes.TryGetProperty("fixed_ips", out var ips) && ips.ValueKind == JsonValueKind.Array)
        {
            foreach (var ip in ips.EnumerateArray())
            {
                if (ip.ValueKind == JsonValueKind.Object && ip.TryGetProperty("subnet_id", out var subnet)
                    && subnet.ValueKind == JsonValueKind.String && Guid.TryParse(subnet.GetString(), out var subnetId))
                {
                    parents.Add(subnetId);
                }
            }
        }
        return parents;
    }

    /// <summary>RFC 3339 in UTC with milliseconds, e.g. <c>2026-01-31T12:00:03.250Z</c>; rounded down, never later.</summary>
    public static string FormatDeadline(DateTimeOffset deadline) =>
        deadline.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", System.Globalization.CultureInfo.InvariantCulture);

    public static BackendOutcome Classify(HttpStatusCode status, string body)
    {
        var code = (int)status;
        var error = ErrorCode(body);
        var detail = error ?? Shorten(body);
        if (code is >= 200 and < 300)
        {
            return new BackendOutcome(BackendOutcomeKind.Applied, code, "ok");
        }
        return (code, error) switch
        {
            (404, _) => new BackendOutcome(BackendOutcomeKind.NotFound, code, detail),
            (409, "already_exists") => new BackendOutcome(BackendOutcomeKind.AlreadyExists, code, detail),
            (409, "stale_revision") => new BackendOutcome(BackendOutcomeKind.StaleRevision, code, detail),
            (409, "stale_token") => new BackendOutcome(BackendOutcomeKind.StaleToken, code, detail),
            (409, "unknown_parent" or "has_children" or "address_in_use") => new BackendOutcome(BackendOutcomeKind.OrderingConflict, code, detail),
            (503, "outage") => new BackendOutcome(BackendOutcomeKind.Outage, code, detail),
            (408 or 429, _) => new BackendOutcome(BackendOutcomeKind.Transient, code, detail),
            ( >= 500, _) => new BackendOutcome(BackendOutcomeKind.Transient, code, detail),
            _ => new BackendOutcome(BackendOutcomeKind.Rejected, code, RejectionReason(code, body, error)),
        };
    }

    private static string? ErrorCode(string body)
    {
        if (string.IsNullOrWhiteSpace(body))
        {
            return null;
        }
        try
        {
            using var doc = JsonDocument.Parse(body);
            return doc.RootElement.ValueKind == JsonValueKind.Object
                && doc.RootElement.TryGetProperty("error", out var e) && e.ValueKind == JsonValueKind.String
                ? e.GetString()
                : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private static string RejectionReason(int code, string body, string? error)
    {
        // Prefer the back end's own message ("reason"/"message") so the operator sees why in status_reason.
        try
        {
            using var doc = JsonDocument.Parse(body);
            if (doc.RootElement.ValueKind == JsonValueKind.Object)
            {
                foreach (var name in new[] { "reason", "message", "detail" })
                {
                    if (doc.RootElement.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String)
                    {
                        return $"back end rejected ({code} {error ?? "error"}): {v.GetString()}";
                    }
                }
            }
        }
        catch (JsonException)
        {
        }
        return $"back end rejected ({code}): {error ?? Shorten(body)}";
    }

    private static string Shorten(string body) => body.Length <= 200 ? body : body[..200];
}
