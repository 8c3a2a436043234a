using System.Text.Json;

namespace OutboxSync.Simulator.Gateway;

/// <summary>
/// Which stored port holds each fixed IP (per subnet) and each MAC, as a device that plugs ports would: it cannot
/// hold two ports with one address. A client that reuses a deleted port's address or MAC must send the new port
/// after the old port's delete; one that does not is refused (409 <c>address_in_use</c>, an answer that depends on
/// another object, so never cached) and counted. Not thread-safe: used under the gateway lock with the inventory.
/// </summary>
internal sealed class AddressBook
{
    private readonly Dictionary<string, string> holders = new(StringComparer.Ordinal);

    /// <summary>The first address or MAC in <paramref name="attributes"/> held by a port other than <paramref name="portId"/>.</summary>
    public string? HeldByAnother(string portId, JsonElement attributes)
    {
        foreach (var key in Keys(attributes))
        {
            if (holders.TryGetValue(key, out var holder) && !string.Equals(holder, portId, StringComparison.Ordinal))
            {
                return $"{Describe(key)} is held by ports/{holder}";
            }
        }
        return null;
    }

    public void Hold(StoredObject port)
    {
        foreach (var key in Keys(port.Attributes))
        {
            holders[key] = port.Id;
        }
    }

    public void Release(StoredObject port)
    {
        foreach (var key in Keys(port.Attributes))
        {
            if (holders.TryGetValue(key, out var holder) && string.Equals(holder, port.Id, StringComparison.Ordinal))
            {
                holders.Remove(key);
            }
        }
    }

    public void Clear() => holders.Clear();

    private static IEnumerable<string> Keys(JsonElement attributes)
    {
        if (attributes.ValueKind != JsonValueKind.Object)
        {
            yield break;
        }
        if (attributes.TryGetProperty("mac_address", out var mac) && mac.ValueKind == JsonValueKind.String && mac.GetString() is { Length: > 0 } m)
        {
            yield return "mac " + m.ToLowerInvariant();
        }
        if (attributes.TryGetProperty("fixed_ips", out var ips) && ips.ValueKind == JsonValueKind.Array)
        {
            foreach (var ip in ips.EnumerateArray())
            {
                if (ip.ValueKind == JsonValueKind.Object
                    && ip.TryGetProperty("subnet_id", out var subnet) && subnet.ValueKind == JsonValueKind.String
                    && ip.TryGetProperty("ip_address", out var address) && address.ValueKind == JsonValueKind.String)
                {
                    yield return $"ip {subnet.GetString()} {address.GetString()}";
                }
            }
        }
    }

    private static string Describe(string key) => key.StartsWith("mac ", StringComparison.Ordinal)
        ? $"MAC {key[4..]}"
        : $"address {key.Split(' ')[2]} on subnets/{key.Split(' ')[1]}";
}
