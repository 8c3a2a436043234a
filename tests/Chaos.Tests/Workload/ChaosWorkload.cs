using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;

namespace OutboxSync.Chaos.Tests.Workload;

/// <summary>
/// Concurrent API clients working through the planned units. Each client owns its units and makes their calls
/// in plan order (so within a unit, parents come before children and deletes last), choosing at random among its
/// units so calls on different resources interleave. A call is retried until the API accepts it; an ambiguous
/// failure (5xx or a lost answer: the commit may or may not have happened) is resolved before any retry that
/// could do the change twice: a create is looked up by its unique name, a delete answered 404 on retry is done.
/// </summary>
public sealed class ChaosWorkload(IReadOnlyList<NeutronClient> apis, IReadOnlyList<UnitPlan> plans, int clients, int seed)
{
    private static readonly TimeSpan OperationDeadline = TimeSpan.FromSeconds(180);

    private readonly ConcurrentQueue<AcceptedOperation> _accepted = new();
    private readonly ConcurrentQueue<TrackedResource> _resources = new();
    private readonly ConcurrentQueue<string> _refusals = new();
    private readonly ConcurrentDictionary<int, int> _answers = new();
    private int _transportFailures;
    private int _ambiguous;

    public IReadOnlyCollection<AcceptedOperation> Accepted => _accepted;

    public IReadOnlyCollection<TrackedResource> Resources => _resources;

    /// <summary>Calls the API refused although the workload considers them valid; the run fails on any.</summary>
    public IReadOnlyCollection<string> Refusals => _refusals;

    /// <summary>Every HTTP status the mutating calls got, with counts (retries included).</summary>
    public IReadOnlyDictionary<int, int> Answers => _answers;

    public int TransportFailures => Volatile.Read(ref _transportFailures);

    /// <summary>Calls that met an ambiguous failure at least once.</summary>
    public int Ambiguous => Volatile.Read(ref _ambiguous);

    public int PlannedOperations => plans.Sum(p => p.Operations.Count);

    public Task RunAsync(TimeSpan window, CancellationToken ct) =>
        Task.WhenAll(Enumerable.Range(0, clients).Select(c => Task.Run(() => RunClientAsync(c, window, ct), ct)));

    private async Task RunClientAsync(int client, TimeSpan window, CancellationToken ct)
    {
        var api = apis[client % apis.Count];
        var random = new Random(seed * 31 + client);
        var units = plans.Where(p => p.Index % clients == client).Select(p => new UnitRun(p)).ToList();
        var total = units.Sum(u => u.Plan.Operations.Count);
        var interval = total == 0 ? TimeSpan.Zero : window / total;
        var started = Stopwatch.GetTimestamp();
        for (var k = 0; units.Count > 0; k++)
        {
            // Pacing (not waiting for a condition): spreads the calls over the fault phase so every fault meets live
            // traffic. When the API is slower than the pace, calls simply go back to back.
            var wait = interval * k - Stopwatch.GetElapsedTime(started);
            if (wait > TimeSpan.Zero)
            {
                await Task.Delay(wait, ct);
            }
            var unit = units[random.Next(units.Count)];
            try
            {
                await RunAsync(api, unit, unit.Plan.Operations[unit.Next], ct);
                unit.Next++;
            }
            catch (RefusedOperationException e)
            {
                // The unit's later calls may depend on the refused one; stop it and let the check judge the rest.
                _refusals.Enqueue($"unit {unit.Plan.Index}: {e.Message}");
                unit.Next = unit.Plan.Operations.Count;
            }
            if (unit.Next == unit.Plan.Operations.Count)
            {
                units.Remove(unit);
            }
        }
    }

    private Task RunAsync(NeutronClient api, UnitRun unit, PlannedOperation operation, CancellationToken ct) => operation.Kind switch
    {
        OperationKind.Create => CreateAsync(api, unit, operation.Slot, ct),
        OperationKind.AddInterface => AddInterfaceAsync(api, unit, ct),
        OperationKind.Update => UpdateAsync(api, unit, operation.Slot, ct),
        OperationKind.Delete => DeleteAsync(api, unit, operation.Slot, ct),
        OperationKind.RemoveInterface => RemoveInterfaceAsync(api, unit, ct),
        _ => throw new ArgumentOutOfRangeException(nameof(operation)),
    };

    private async Task CreateAsync(NeutronClient api, UnitRun unit, ResourceSlot slot, CancellationToken ct)
    {
        var name = unit.NextName(slot);
        var (member, body) = CreateBody(unit, slot, name);
        var collection = TrackedResource.CollectionOf(member);
        var (answer, recovered) = await AcceptAsync(api, HttpMethod.Post, $"v2.0/{collection}", new JsonObject { [member] = body },
            () => FindByNameAsync(api, collection, member, name, ct), notFoundMeansDone: false, ct);
        var created = answer[member]!;
        var resource = new TrackedResource(Guid.Parse(created["id"]!.GetValue<string>()), member, slot, unit.Plan.Index, name)
        {
            SecurityGroups = body["security_groups"] is JsonArray groups ? [.. groups.Select(g => Guid.Parse(g!.GetValue<string>()))] : null,
        };
        unit.Resources[slot] = resource;
        _resources.Enqueue(resource);
        _accepted.Enqueue(new AcceptedOperation(OperationKind.Create, resource, created["revision_number"]?.GetValue<long>(), api.ViaBouncer, recovered));
    }

    private async Task AddInterfaceAsync(NeutronClient api, UnitRun unit, CancellationToken ct)
    {
        var router = unit.Resources[ResourceSlot.Router].Id;
        var subnet = unit.Resources[ResourceSlot.SubnetB].Id;
        var (answer, recovered) = await AcceptAsync(api, HttpMethod.Put, $"v2.0/routers/{router}/add_router_interface",
            new JsonObject { ["subnet_id"] = subnet.ToString() }, () => FindInterfaceAsync(api, router, ct), notFoundMeansDone: false, ct);
        var resource = new TrackedResource(Guid.Parse(answer["port_id"]!.GetValue<string>()), "port", ResourceSlot.Interface, unit.Plan.Index, "")
        {
            RouterId = router,
        };
        unit.Resources[ResourceSlot.Interface] = resource;
        _resources.Enqueue(resource);
        _accepted.Enqueue(new AcceptedOperation(OperationKind.AddInterface, resource, null, api.ViaBouncer, recovered));
    }

    private async Task UpdateAsync(NeutronClient api, UnitRun unit, ResourceSlot slot, CancellationToken ct)
    {
        var resource = unit.Resources[slot];
        var name = unit.NextName(slot);
        var change = new JsonObject { ["name"] = name };
        // A port (not an interface) also moves between hosts, as Nova binds, migrates and unbinds it: the binding
        // is part of the state the back end must end up holding. Derived from the name, so a repeat is the same.
        var host = resource.Type == "port" && !resource.IsInterface ? BindingHost(name) : null;
        if (host is not null)
        {
            change["binding:host_id"] = host;
        }
        // A rename repeated after an ambiguous failure leaves the same name, so it needs no lookup first.
        var (answer, recovered) = await AcceptAsync(api, HttpMethod.Put, $"v2.0/{resource.Collection}/{resource.Id}",
            new JsonObject { [resource.Type] = change }, recover: null, notFoundMeansDone: false, ct);
        resource.Name = name;
        resource.Host = host ?? resource.Host;
        _accepted.Enqueue(new AcceptedOperation(OperationKind.Update, resource, answer[resource.Type]?["revision_number"]?.GetValue<long>(), api.ViaBouncer, recovered));
    }

    /// <summary>One of three hosts, or unbound (""), chosen by the name's hash.</summary>
    private static string BindingHost(string name)
    {
        var i = name.Aggregate(17, (h, c) => unchecked((h * 31) + c)) & 3;
        return i == 3 ? "" : $"compute-{i}";
    }

    private async Task DeleteAsync(NeutronClient api, UnitRun unit, ResourceSlot slot, CancellationToken ct)
    {
        var resource = unit.Resources[slot];
        var (_, recovered) = await AcceptAsync(api, HttpMethod.Delete, $"v2.0/{resource.Collection}/{resource.Id}", null,
            recover: null, notFoundMeansDone: true, ct);
        resource.Deleted = true;
        if (slot == ResourceSlot.Network)
        {
            // The API deletes a network's subnets with it.
            unit.Resources[ResourceSlot.SubnetA].Deleted = true;
            unit.Resources[ResourceSlot.SubnetB].Deleted = true;
        }
        _accepted.Enqueue(new AcceptedOperation(OperationKind.Delete, resource, null, api.ViaBouncer, recovered));
    }

    private async Task RemoveInterfaceAsync(NeutronClient api, UnitRun unit, CancellationToken ct)
    {
        var resource = unit.Resources[ResourceSlot.Interface];
        var (_, recovered) = await AcceptAsync(api, HttpMethod.Put, $"v2.0/routers/{resource.RouterId}/remove_router_interface",
            new JsonObject { ["port_id"] = resource.Id.ToString() }, recover: null, notFoundMeansDone: true, ct);
        resource.Deleted = true;
        _accepted.Enqueue(new AcceptedOperation(OperationKind.RemoveInterface, resource, null, api.ViaBouncer, recovered));
    }

    /// <summary>
    /// Sends until accepted. Retries 5xx, 429, transport failures and the API's retryable 409 "Conflict". After an
    /// ambiguous failure, <paramref name="recover"/> (when given) first finds out whether the change committed.
    /// </summary>
    private async Task<(JsonObject Body, bool Recovered)> AcceptAsync(NeutronClient api, HttpMethod method, string path, JsonObject? body,
        Func<Task<(bool Definite, JsonObject? Found)>>? recover, bool notFoundMeansDone, CancellationToken ct)
    {
        var started = Stopwatch.GetTimestamp();
        var ambiguous = false;
        var delay = TimeSpan.FromMilliseconds(100);
        while (true)
        {
            var send = true;
            if (ambiguous && recover is not null)
            {
                var (definite, found) = await TryAsync(recover, ct);
                if (found is not null)
                {
                    return (found, true);
                }
                send = definite;
            }
            if (send)
            {
                var answer = await TryAsync(() => api.SendAsync(method, path, body, ct), ct);
                if (answer is null)
                {
                    Interlocked.Increment(ref _transportFailures);
                    ambiguous = MarkAmbiguous(ambiguous);
                }
                else
                {
                    _answers.AddOrUpdate(answer.Status, 1, (_, n) => n + 1);
                    if (answer.IsSuccess)
                    {
                        return (answer.Body ?? [], false);
                    }
                    if (answer.Status == 404 && ambiguous && notFoundMeansDone)
                    {
                        return ([], true);
                    }
                    if (answer.Status >= 500)
                    {
                        ambiguous = MarkAmbiguous(ambiguous);
                    }
                    else if (answer.Status != 429 && !(answer.Status == 409 && answer.ErrorType == "Conflict"))
                    {
                        throw new RefusedOperationException($"{method} {path} {body?.ToJsonString()}: {answer}");
                    }
                }
            }
            if (Stopwatch.GetElapsedTime(started) > OperationDeadline)
            {
                throw new TimeoutException($"{method} {path} not accepted within {OperationDeadline}");
            }
            // Client back-off between retries.
            await Task.Delay(delay, ct);
            delay = TimeSpan.FromMilliseconds(Math.Min(delay.TotalMilliseconds * 2, 2000));
        }
    }

    private bool MarkAmbiguous(bool already)
    {
        if (!already)
        {
            Interlocked.Increment(ref _ambiguous);
        }
        return true;
    }

    /// <summary>Runs a call; a transport failure or client timeout yields null instead of throwing.</summary>
    private static async Task<T?> TryAsync<T>(Func<Task<T>> call, CancellationToken ct)
    {
        try
        {
            return await call();
        }
        catch (HttpRequestException)
        {
            return default;
        }
        catch (TaskCanceledException) when (!ct.IsCancellationRequested)
        {
            return default;
        }
    }

    private static async Task<(bool Definite, JsonObject? Found)> FindByNameAsync(NeutronClient api, string collection, string member, string name, CancellationToken ct)
    {
        var answer = await api.SendAsync(HttpMethod.Get, $"v2.0/{collection}?name={Uri.EscapeDataString(name)}", null, ct);
        if (!answer.IsSuccess)
        {
            return (false, null);
        }
        var items = answer.Body![collection.Replace('-', '_')]!.AsArray();
        return (true, items.Count == 0 ? null : new JsonObject { [member] = items[0]!.DeepClone() });
    }

    private static async Task<(bool Definite, JsonObject? Found)> FindInterfaceAsync(NeutronClient api, Guid router, CancellationToken ct)
    {
        var answer = await api.SendAsync(HttpMethod.Get, $"v2.0/ports?device_id={router}&device_owner=network:router_interface", null, ct);
        if (!answer.IsSuccess)
        {
            return (false, null);
        }
        var items = answer.Body!["ports"]!.AsArray();
        return (true, items.Count == 0 ? null : new JsonObject { ["port_id"] = items[0]!["id"]!.DeepClone() });
    }

    private static (string Member, JsonObject Body) CreateBody(UnitRun unit, ResourceSlot slot, string name)
    {
        var network = slot == ResourceSlot.Network ? null : unit.Resources[ResourceSlot.Network].Id.ToString();
        return slot switch
        {
            ResourceSlot.Network => ("network", new JsonObject { ["name"] = name }),
            ResourceSlot.SubnetA or ResourceSlot.SubnetB => ("subnet", new JsonObject
            {
                ["network_id"] = network,
                ["name"] = name,
                ["ip_version"] = 4,
                ["cidr"] = Cidr(unit.Plan.Index * 2 + (slot == ResourceSlot.SubnetA ? 0 : 1)),
            }),
            ResourceSlot.Port1 or ResourceSlot.Port2 => ("port", new JsonObject
            {
                ["network_id"] = network,
                ["name"] = name,
                ["fixed_ips"] = new JsonArray(new JsonObject { ["subnet_id"] = unit.Resources[ResourceSlot.SubnetA].Id.ToString() }),
                ["security_groups"] = new JsonArray(unit.Resources[ResourceSlot.SecurityGroup].Id.ToString()),
            }),
            // Without security_groups: the project's default group, made on the project's first use.
            ResourceSlot.Port3 => ("port", new JsonObject
            {
                ["network_id"] = network,
                ["name"] = name,
                ["fixed_ips"] = new JsonArray(new JsonObject { ["subnet_id"] = unit.Resources[ResourceSlot.SubnetB].Id.ToString() }),
            }),
            ResourceSlot.SecurityGroup => ("security_group", new JsonObject { ["name"] = name }),
            ResourceSlot.Router => ("router", new JsonObject { ["name"] = name }),
            _ => throw new ArgumentOutOfRangeException(nameof(slot)),
        };
    }

    /// <summary>A distinct /24 per subnet of the run.</summary>
    private static string Cidr(int index) =>
        string.Create(CultureInfo.InvariantCulture, $"10.{index / 256 % 256}.{index % 256}.0/24");

    private sealed class UnitRun(UnitPlan plan)
    {
        private int _generation;

        public UnitPlan Plan { get; } = plan;

        public int Next { get; set; }

        public Dictionary<ResourceSlot, TrackedResource> Resources { get; } = [];

        /// <summary>Names are unique across the run, so an ambiguous create can be found by its name.</summary>
        public string NextName(ResourceSlot slot) =>
            string.Create(CultureInfo.InvariantCulture, $"u{Plan.Index}-{slot.ToString().ToLowerInvariant()}-{++_generation}");
    }
}
