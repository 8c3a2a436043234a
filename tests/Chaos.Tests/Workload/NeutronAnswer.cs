using System.Text.Json.Nodes;

namespace OutboxSync.Chaos.Tests.Workload;

/// <summary>An HTTP answer of the Neutron API: status and parsed body (null when empty or not JSON).</summary>
public sealed record NeutronAnswer(int Status, JsonObject? Body, string Text)
{
    public bool IsSuccess => Status is >= 200 and < 300;

    /// <summary>The Neutron fault type, e.g. "Conflict" or "NetworkInUse".</summary>
    public string? ErrorType => Body?["NeutronError"]?["type"]?.GetValue<string>();

    public override string ToString() => $"{Status} {(Text.Length > 300 ? Text[..300] : Text)}";
}
