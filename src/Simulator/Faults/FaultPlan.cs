using System.Text.Json;
using Microsoft.Extensions.Options;

namespace OutboxSync.Simulator.Faults;

/// <summary>
/// The fault plan in force and the random source that draws from it. Settings are swapped whole so a call
/// sees one consistent plan; one lock guards updates and the RNG (<see cref="Random"/> is not thread-safe).
/// </summary>
internal sealed class FaultPlan
{
    private readonly Lock gate = new();
    private Random rng;
    private volatile FaultSettings current;

    public FaultPlan(IOptions<SimulatorOptions> options)
    {
        current = options.Value.Faults.Copy();
        rng = current.Seed is int seed ? new Random(seed) : new Random();
    }

    public FaultSettings Current => current;

    /// <summary>True with probability <paramref name="rate"/>; rates of 0 and 1 do not consume randomness.</summary>
    public bool Roll(double rate)
    {
        if (rate <= 0)
        {
            return false;
        }

        if (rate >= 1)
        {
            return true;
        }

        lock (gate)
        {
            return rng.NextDouble() < rate;
        }
    }

    /// <summary>A latency drawn uniformly from [min, max] milliseconds.</summary>
    public int DrawLatencyMs(FaultSettings settings)
    {
        if (settings.LatencyMaxMs <= settings.LatencyMinMs)
        {
            return settings.LatencyMinMs;
        }

        lock (gate)
        {
            return rng.Next(settings.LatencyMinMs, settings.LatencyMaxMs + 1);
        }
    }

    /// <summary>
    /// Applies a partial snake_case JSON object. Unknown fields, wrong types and out-of-range results are
    /// refused as a whole so a bad PUT never leaves a half-applied plan.
    /// </summary>
    public bool TryUpdate(JsonElement patch, out FaultSettings updated, out string? problem)
    {
        // One lock for read-modify-write too, so two concurrent partial PUTs cannot lose each other's fields.
        lock (gate)
        {
            updated = current;
            if (patch.ValueKind != JsonValueKind.Object)
            {
                problem = "body must be a JSON object";
                return false;
            }

            var next = current.Copy();
            var reseed = false;
            foreach (var field in patch.EnumerateObject())
            {
                problem = Assign(next, field, ref reseed);
                if (problem is not null)
                {
                    return false;
                }
            }

            problem = next.Validate();
            if (problem is not null)
            {
                return false;
            }

            if (reseed)
            {
                rng = next.Seed is int seed ? new Random(seed) : new Random();
            }

            current = next;
            updated = next;
            return true;
        }
    }

    private static string? Assign(FaultSettings next, JsonProperty field, ref bool reseed)
    {
        var value = field.Value;
        switch (field.Name)
        {
            case "latency_min_ms" or "latency_max_ms" or "hang_ms":
                if (value.ValueKind != JsonValueKind.Number || !value.TryGetInt32(out var ms))
                {
                    return $"{field.Name} must be an integer number of milliseconds";
                }

                if (field.Name == "latency_min_ms")
                {
                    next.LatencyMinMs = ms;
                }
                else if (field.Name == "latency_max_ms")
                {
                    next.LatencyMaxMs = ms;
                }
                else
                {
                    next.HangMs = ms;
                }

                return null;

            case "failure_rate" or "failure_after_apply_rate" or "reset_rate" or "hang_rate" or "reject_rate":
                if (value.ValueKind != JsonValueKind.Number || !value.TryGetDouble(out var rate) || !double.IsFinite(rate))
                {
                    return $"{field.Name} must be a number between 0 and 1";
                }

                switch (field.Name)
                {
                    case "failure_rate": next.FailureRate = rate; break;
                    case "failure_after_apply_rate": next.FailureAfterApplyRate = rate; break;
                    case "reset_rate": next.ResetRate = rate; break;
                    case "hang_rate": next.HangRate = rate; break;
                    default: next.RejectRate = rate; break;
                }

                return null;

            case "outage":
                if (value.ValueKind is not (JsonValueKind.True or JsonValueKind.False))
                {
                    return "outage must be true or false";
                }

                next.Outage = value.GetBoolean();
                return null;

            case "reject_name_substring":
                if (value.ValueKind is not (JsonValueKind.String or JsonValueKind.Null))
                {
                    return "reject_name_substring must be a string or null";
                }

                next.RejectNameSubstring = value.GetString();
                return null;

            case "seed":
                if (value.ValueKind == JsonValueKind.Null)
                {
                    next.Seed = null;
                }
                else if (value.ValueKind == JsonValueKind.Number && value.TryGetInt32(out var seed))
                {
                    next.Seed = seed;
                }
                else
                {
                    return "seed must be a 32-bit integer or null";
                }

                reseed = true;
                return null;

            default:
                return $"unknown field '{field.Name}'";
        }
    }
}
