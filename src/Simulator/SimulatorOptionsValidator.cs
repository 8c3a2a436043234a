using Microsoft.Extensions.Options;

namespace OutboxSync.Simulator;

/// <summary>Refuses to start with a fault plan the admin endpoint would have rejected.</summary>
internal sealed class SimulatorOptionsValidator : IValidateOptions<SimulatorOptions>
{
    public ValidateOptionsResult Validate(string? name, SimulatorOptions options)
    {
        if (options.IdempotencyCacheCapacity < 1)
        {
            return ValidateOptionsResult.Fail("Simulator:IdempotencyCacheCapacity must be at least 1.");
        }

        if (options.CallLogCapacity < 1)
        {
            return ValidateOptionsResult.Fail("Simulator:CallLogCapacity must be at least 1.");
        }

        var problem = options.Faults.Validate();
        return problem is null
            ? ValidateOptionsResult.Success
            : ValidateOptionsResult.Fail($"Simulator:Faults is invalid: {problem}");
    }
}
