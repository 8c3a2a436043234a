using System.Collections.Concurrent;
using System.Net;
using System.Text;
using System.Text.Json.Nodes;

namespace OutboxSync.Worker.Tests.Support;

/// <summary>One request the fake back end received, with the answer it gave.</summary>
public sealed record FakeCall(string Method, string Collection, Guid ResourceId, long? Revision, long Token, string Key, string? Name, int Status, string? Error, string? TraceParent = null, string? Deadline = null);

/// <summary>
/// An in-process back end implementing the contract (fencing per resource, revision CAS, idempotency keys,
/// parent/child checks) for drain behaviour tests that need scripted faults. The end-to-end tests use the real
/// simulator over HTTP instead.
/// </summary>
public sealed class FakeBackend : HttpMessageHandler
{
    private readonly object _gate = new();
    private readonly Dictionary<Guid, (string Collection, long Revision, JsonObject Attributes)> _objects = [];
    private readonly Dictionary<(Guid Router, Guid Port), long> _interfaces = [];
    private readonly Dictionary<Guid, long> _highestToken = [];
    private readonly Dictionary<string, (int Status, string Body)> _idempotent = [];
    private readonly ConcurrentDictionary<Guid, int> _inFlight = new();
    private int _concurrent;
    private int _maxConcurrent;

    public ConcurrentQueue<FakeCall> Calls { get; } = new();
    public ConcurrentQueue<string> Violations { get; } = new();

    /// <summary>Delay before each answer.</summary>
    public TimeSpan Latency { get; set; }

    /// <summary>While true every call answers 503 {"error":"outage"}.</summary>
    public volatile bool Outage;

    /// <summary>Scripted fault, consulted before applying: return (status, error code) to answer instead.</summary>
    public Func<FakeCall, (int Status, string Error)?>? Fault { get; set; }

    /// <summary>Called when a request arrives (before latency), e.g. to sample the database mid-call.</summary>
    public Action<FakeCall>? OnRequest { get; set; }

    /// <summary>Most calls that were in progress at once, over every resource.</summary>
    public int MaxConcurrent => Volatile.Read(ref _maxConcurrent);

    public bool Exists(Guid id)
    {
        lock (_gate)
        {
            return _objects.ContainsKey(id);
        }
    }

    public JsonObject? Attributes(Guid id)
    {
        lock (_gate)
        {
            return _objects.TryGetValue(id, out var o) ? o.Attributes : null;
        }
    }

    public long? Revision(Guid id)
    {
        lock (_gate)
        {
            return _objects.TryGetValue(id, out var o) ? o.Revision : null;
        }
    }

    public List<FakeCall> CallsFor(Guid id) => Calls.Where(c => c.ResourceId == id).ToList();

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken ct)
    {
        var segments = request.RequestUri!.AbsolutePath.Trim('/').Split('/');
        var body = request.Content is null ? null : JsonNode.Parse(await request.Content.ReadAsStringAsync(ct))?.AsObject();
        var token = long.Parse(request.Headers.GetValues("X-Fencing-Token").Single(), System.Globalization.CultureInfo.InvariantCulture);
        var key = request.Headers.GetValues("Idempotency-Key").Single();
        var collection = segments[1];
        var isInterface = segments.Length == 5 && segments[3] == "interfaces";
        var resourceId = isInterface ? Guid.Parse(segments[4])
            : segments.Length >= 3 ? Guid.Parse(segments[2])
            : Guid.Parse(body!["id"]!.GetValue<string>());
        var revision = body?["revision"]?.GetValue<long>();
        var name = body?["attributes"]?["name"]?.GetValue<string>();
        var traceParent = request.Headers.TryGetValues("traceparent", out var tp) ? tp.Single() : null;
        var deadline = request.Headers.TryGetValues("X-Request-Deadline", out var d) ? d.Single() : null;
        var probe = new FakeCall(request.Method.Method, isInterface ? "interfaces" : collection, resourceId, revision, token, key, name, 0, null, traceParent, deadline);
        OnRequest?.Invoke(probe);

        if (_inFlight.AddOrUpdate(resourceId, 1, (_, n) => n + 1) > 1)
        {
            Violations.Enqueue($"overlap on {resourceId}");
        }
        var concurrent = Interlocked.Increment(ref _concurrent);
        for (var seen = Volatile.Read(ref _maxConcurrent); concurrent > seen; seen = Volatile.Read(ref _maxConcurrent))
        {
            Interlocked.CompareExchange(ref _maxConcurrent, concurrent, seen);
        }
        try
        {
            if (Latency > TimeSpan.Zero)
            {
                await Task.Delay(Latency, ct);
            }
            (int Status, string? Error) answer = Outage ? (503, "outage")
                : Fault?.Invoke(probe) is { } fault ? (fault.Status, fault.Error)
                : Apply(request.Method, collection, isInterface, segments, resourceId, body, token, key);
            var (status, error) = answer;
            Calls.Enqueue(probe with { Status = status, Error = error });
            var response = new HttpResponseMessage((HttpStatusCode)status);
            if (error is not null)
            {
                response.Content = new StringContent($$"""{"error":"{{error}}","reason":"{{error}} by fake"}""", Encoding.UTF8, "application/json");
            }
            return response;
        }
        finally
        {
            Interlocked.Decrement(ref _concurrent);
            _inFlight.AddOrUpdate(resourceId, 0, (_, n) => n - 1);
        }
    }

    private (int, string?) Apply(HttpMethod method, string collection, bool isInterface, string[] segments, Guid id, JsonObject? body, long token, string key)
    {
        lock (_gate)
        {
            if (_highestToken.TryGetValue(id, out var highest) && token < highest)
            {
                return (409, "stale_token");
            }
            _highestToken[id] = token;
            if (_idempotent.TryGetValue(key + "|" + id, out var cached))
            {
                return (cached.Status, null);
            }
            var result = isInterface ? ApplyInterface(method, Guid.Parse(segments[2]), id, body) : ApplyObject(method, collection, id, body);
            if (result.Item1 is >= 200 and < 300)
            {
                _idempotent[key + "|" + id] = (result.Item1, "");
            }
            return result;
        }
    }

    private (int, string?) ApplyObject(HttpMethod method, string collection, Guid id, JsonObject? body)
    {
        if (method == HttpMethod.Post)
        {
            if (_objects.ContainsKey(id))
            {
                return (409, "already_exists");
            }
            var attrs = body!["attributes"]!.AsObject();
            if (MissingParent(collection, attrs) is { } parent)
            {
                Violations.Enqueue($"child {id} before parent {parent}");
                return (409, "unknown_parent");
            }
            _objects[id] = (collection, body["revision"]!.GetValue<long>(), (JsonObject)attrs.DeepClone());
            return (201, null);
        }
        if (method == HttpMethod.Put)
        {
            if (!_objects.TryGetValue(id, out var existing))
            {
                return (404, "not_found");
            }
            var rev = body!["revision"]!.GetValue<long>();
            if (rev < existing.Revision)
            {
                return (409, "stale_revision");
            }
            if (rev == existing.Revision)
            {
                Violations.Enqueue($"duplicate apply of {id} revision {rev}");
            }
            _objects[id] = (collection, rev, (JsonObject)body["attributes"]!.AsObject().DeepClone());
            return (200, null);
        }
        if (!_objects.ContainsKey(id))
        {
            return (404, "not_found");
        }
        if (_objects.Values.Any(o => ParentsOf(o.Collection, o.Attributes).Contains(id)))
        {
            Violations.Enqueue($"parent {id} deleted before child");
            return (409, "has_children");
        }
        _objects.Remove(id);
        return (204, null);
    }

    private (int, string?) ApplyInterface(HttpMethod method, Guid router, Guid port, JsonObject? body)
    {
        if (method == HttpMethod.Put)
        {
            var subnet = Guid.Parse(body!["attributes"]!["subnet_id"]!.GetValue<string>());
            if (!_objects.ContainsKey(router) || !_objects.ContainsKey(subnet))
            {
                Violations.Enqueue($"interface {port} before router/subnet");
                return (409, "unknown_parent");
            }
            var existed = _interfaces.ContainsKey((router, port));
            _interfaces[(router, port)] = body["revision"]!.GetValue<long>();
            return (existed ? 200 : 201, null);
        }
        return _interfaces.Remove((router, port)) ? (204, null) : (404, "not_found");
    }

    public bool HasInterface(Guid router, Guid port)
    {
        lock (_gate)
        {
            return _interfaces.ContainsKey((router, port));
        }
    }

    private Guid? MissingParent(string collection, JsonObject attrs) =>
        ParentsOf(collection, attrs).Cast<Guid?>().FirstOrDefault(p => !_objects.ContainsKey(p!.Value));

    private static List<Guid> ParentsOf(string collection, JsonObject attrs)
    {
        var parents = new List<Guid>();
        if (collection is "subnets" or "ports" && attrs["network_id"]?.GetValue<string>() is { } net)
        {
            parents.Add(Guid.Parse(net));
        }
        if (collection == "ports" && attrs["fixed_ips"] is JsonArray ips)
        {
            parents.AddRange(ips.Select(ip => Guid.Parse(ip!["subnet_id"]!.GetValue<string>())));
        }
        return parents;
    }
}
