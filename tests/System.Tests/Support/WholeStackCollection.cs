namespace OutboxSync.System.Tests.Support;

/// <summary>Classes that start a <see cref="RunningStack"/> (four processes each) run one at a time on a 2-core machine.</summary>
[Xunit.CollectionDefinition(nameof(WholeStackCollection), DisableParallelization = true)]
public sealed class WholeStackCollection;
