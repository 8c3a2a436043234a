namespace OutboxSync.Leases;

/// <summary>
/// A lease's token, drawn from the <c>fencing_tokens</c> sequence at acquisition. Every acquisition gets a larger
/// token than any before it, so the back end can refuse calls carrying a token older than one it has seen.
/// </summary>
public readonly record struct FencingToken(long Value) : IComparable<FencingToken>
{
    public int CompareTo(FencingToken other) => Value.CompareTo(other.Value);

    public static bool operator <(FencingToken left, FencingToken right) => left.Value < right.Value;

    public static bool operator >(FencingToken left, FencingToken right) => left.Value > right.Value;

    public static bool operator <=(FencingToken left, FencingToken right) => left.Value <= right.Value;

    public static bool operator >=(FencingToken left, FencingToken right) => left.Value >= right.Value;

    public override string ToString() => Value.ToString(System.Globalization.CultureInfo.InvariantCulture);
}
