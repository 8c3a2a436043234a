using System.Text.Json.Nodes;
using OutboxSync.Chaos.Tests.Workload;

namespace OutboxSync.Chaos.Tests.Verification;

/// <summary>
/// Judges the end state: each resource the clients made against what their accepted calls imply, each accepted
/// call by what became of it, and the database against the back end both ways (every settled row there at its
/// applied revision, nothing there the database does not know).
/// </summary>
public sealed class ChaosVerdict
{
    public Dictionary<(OperationKind Kind, OperationOutcome Outcome), int> Operations { get; } = [];

    private readonly Dictionary<AcceptedOperation, OperationOutcome> _byOperation = new(ReferenceEqualityComparer.Instance);

    /// <summary>What became of one accepted operation.</summary>
    public OperationOutcome OutcomeOf(AcceptedOperation operation) => _byOperation[operation];

    public Dictionary<ResourceOutcome, int> Resources { get; } = [];

    /// <summary>Every resource or operation that ended wrong, with why.</summary>
    public List<string> Problems { get; } = [];

    /// <summary>Differences between the database and the back end found by comparing both in full.</summary>
    public List<string> Drift { get; } = [];

    /// <summary>Rows neither ACTIVE nor ERROR after the drain.</summary>
    public int Unsettled { get; private set; }

    public static ChaosVerdict Judge(IReadOnlyCollection<TrackedResource> resources, IReadOnlyCollection<AcceptedOperation> accepted, FinalState state)
    {
        var verdict = new ChaosVerdict();
        var outcomes = new Dictionary<Guid, ResourceOutcome>();
        foreach (var resource in resources)
        {
            var (outcome, problem) = JudgeResource(resource, state);
            outcomes[resource.Id] = outcome;
            verdict.Resources[outcome] = verdict.Resources.GetValueOrDefault(outcome) + 1;
            if (problem is not null)
            {
                verdict.Problems.Add($"{resource.Type} {resource.Id} (unit {resource.Unit} {resource.Slot}): {problem}");
            }
        }
        foreach (var operation in accepted)
        {
            var outcome = JudgeOperation(operation, outcomes[operation.Resource.Id], state, out var problem);
            verdict._byOperation[operation] = outcome;
            verdict.Operations[(operation.Kind, outcome)] = verdict.Operations.GetValueOrDefault((operation.Kind, outcome)) + 1;
            if (problem is not null)
            {
                verdict.Problems.Add(problem);
            }
        }
        verdict.CompareBothWays(state);
        return verdict;
    }

    private static (ResourceOutcome, string?) JudgeResource(TrackedResource r, FinalState s)
    {
        s.Rows.TryGetValue(r.Id, out var row);
        if (row is { Status: "ERROR" })
        {
            return string.IsNullOrWhiteSpace(row.Reason) ? (ResourceOutcome.Wrong, "ERROR without a reason") : (ResourceOutcome.ErrorWithReason, null);
        }
        var atBackEnd = r.IsInterface ? s.BackEndInterfaces.ContainsKey(r.Id) || s.AtBackEnd("ports", r.Id) : s.AtBackEnd(r.Collection, r.Id);
        if (r.Deleted)
        {
            return row is not null ? (ResourceOutcome.Wrong, $"deleted, but the database still has it {row.Status}")
                : atBackEnd ? (ResourceOutcome.Wrong, "deleted, but the back end still has it")
                : (ResourceOutcome.Deleted, null);
        }
        if (row is null)
        {
            return (ResourceOutcome.Wrong, "missing from the database");
        }
        if (row.Status != "ACTIVE" || row.Applied != row.Revision)
        {
            return (ResourceOutcome.Wrong, $"{row.Status}, applied revision {row.Applied} of {row.Revision}");
        }
        if (row.Name != r.Name)
        {
            return (ResourceOutcome.Wrong, $"named '{row.Name}' in the database, the last accepted name is '{r.Name}'");
        }
        if (r.IsInterface)
        {
            return !s.BackEndInterfaces.TryGetValue(r.Id, out var i) ? (ResourceOutcome.Wrong, "interface missing at the back end")
                : i.Router != r.RouterId ? (ResourceOutcome.Wrong, $"interface of router {i.Router} at the back end, expected {r.RouterId}")
                : i.Revision != row.Revision ? (ResourceOutcome.Wrong, $"interface at revision {i.Revision} at the back end, {row.Revision} in the database")
                : (ResourceOutcome.Live, null);
        }
        if (!s.BackEnd[r.Collection].TryGetValue(r.Id, out var o))
        {
            return (ResourceOutcome.Wrong, "missing at the back end");
        }
        var name = o.Attributes["name"]?.GetValue<string>();
        var host = o.Attributes["binding:host_id"]?.GetValue<string>();
        var groups = o.Attributes["security_groups"] is JsonArray held ? held.Select(g => Guid.Parse(g!.GetValue<string>())).ToList() : [];
        return o.Revision != row.Revision ? (ResourceOutcome.Wrong, $"revision {o.Revision} at the back end, {row.Revision} in the database")
            : name != r.Name ? (ResourceOutcome.Wrong, $"named '{name}' at the back end, the last accepted name is '{r.Name}'")
            : r.Type == "port" && host != r.Host ? (ResourceOutcome.Wrong, $"bound to '{host}' at the back end, the last accepted host is '{r.Host}'")
            : r.Type == "port" && !(r.SecurityGroups is { } expected ? groups.SequenceEqual(expected) : groups.Count == 1)
                ? (ResourceOutcome.Wrong, $"security groups [{string.Join(", ", groups)}] at the back end, expected {(r.SecurityGroups is { } e ? $"[{string.Join(", ", e)}]" : "the project's default group")}")
            : (ResourceOutcome.Live, null);
    }

    private static OperationOutcome JudgeOperation(AcceptedOperation op, ResourceOutcome resource, FinalState s, out string? problem)
    {
        problem = null;
        switch (resource)
        {
            case ResourceOutcome.ErrorWithReason:
                return OperationOutcome.ErrorWithReason;
            case ResourceOutcome.Wrong:
                return OperationOutcome.NotApplied; // the resource's problem is already listed
            case ResourceOutcome.Deleted:
                return op.Kind is OperationKind.Delete or OperationKind.RemoveInterface ? OperationOutcome.Applied : OperationOutcome.SupersededByDelete;
        }
        if (op.Kind is OperationKind.Delete or OperationKind.RemoveInterface)
        {
            problem = $"{op.Kind} of {op.Resource.Type} {op.Resource.Id} accepted, but it is still there";
            return OperationOutcome.NotApplied;
        }
        var row = s.Rows[op.Resource.Id];
        if (op.Revision is { } revision && row.Applied < revision)
        {
            problem = $"{op.Kind} of {op.Resource.Type} {op.Resource.Id} at revision {revision} accepted, back end holds {row.Applied}";
            return OperationOutcome.NotApplied;
        }
        return OperationOutcome.Applied;
    }

    private void CompareBothWays(FinalState s)
    {
        foreach (var row in s.Rows.Values)
        {
            if (row.Status == "ERROR")
            {
                continue;
            }
            if (row.Status != "ACTIVE")
            {
                Unsettled++;
                Drift.Add($"{row.Type} {row.Id} is {row.Status} after the drain");
                continue;
            }
            if (row.IsInterfacePort)
            {
                if (!s.BackEndInterfaces.TryGetValue(row.Id, out var i) || i.Revision != row.Applied)
                {
                    Drift.Add($"interface {row.Id}: database revision {row.Applied}, back end {(s.BackEndInterfaces.ContainsKey(row.Id) ? i.Revision : "none")}");
                }
                continue;
            }
            var collection = TrackedResource.CollectionOf(row.Type);
            if (!s.BackEnd[collection].TryGetValue(row.Id, out var o) || o.Revision != row.Applied)
            {
                Drift.Add($"{row.Type} {row.Id}: database revision {row.Applied}, back end {(s.AtBackEnd(collection, row.Id) ? o.Revision : "none")}");
            }
        }
        foreach (var collection in FinalState.Collections)
        {
            foreach (var id in s.BackEnd[collection].Keys.Where(id => !s.Rows.ContainsKey(id)))
            {
                Drift.Add($"{collection} {id} at the back end, unknown to the database");
            }
        }
        foreach (var (port, (router, _)) in s.BackEndInterfaces.Where(i => !s.Interfaces.ContainsKey(i.Key)))
        {
            Drift.Add($"interface {port} of router {router} at the back end, unknown to the database");
        }
    }
}
