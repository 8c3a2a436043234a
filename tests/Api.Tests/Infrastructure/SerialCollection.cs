namespace OutboxSync.Api.Tests.Infrastructure;

/// <summary>Timing-sensitive tests run alone, so other test classes do not steal the machine's cores.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class SerialCollection
{
    public const string Name = "Timing-sensitive (runs alone)";
}
