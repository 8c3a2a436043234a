using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Options;

namespace OutboxSync.Api.Auth;

/// <summary>Looks a presented token up by its SHA-256 hash, comparing every entry in constant time.</summary>
public sealed class TokenRegistry
{
    private readonly (byte[] Hash, TenantContext Tenant)[] _entries;

    public TokenRegistry(IOptions<TokenOptions> options)
    {
        var entries = new List<TokenEntry>(options.Value.Tokens);
        if (!string.IsNullOrWhiteSpace(options.Value.TokensFile))
        {
            var json = File.ReadAllText(options.Value.TokensFile);
            entries.AddRange(JsonSerializer.Deserialize<List<TokenEntry>>(json, new JsonSerializerOptions(JsonSerializerDefaults.Web)) ?? []);
        }
        _entries = entries
            .Select(e => (Convert.FromHexString(e.Sha256),
                TenantContext.ForRoles(e.ProjectId, e.Name ?? e.ProjectId, e.Roles)
                    // An entry naming no role of Neutron's acts as a member, as before roles were checked.
                    ?? new TenantContext(e.ProjectId, false, e.Name ?? e.ProjectId)))
            .ToArray();
    }

    public static string Hash(string token) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(token)));

    public TenantContext? Find(string token)
    {
        var presented = SHA256.HashData(Encoding.UTF8.GetBytes(token));
        TenantContext? found = null;
        // No early exit: the time taken does not depend on which entry (if any) matches.
        foreach (var (hash, tenant) in _entries)
        {
            if (CryptographicOperations.FixedTimeEquals(hash, presented))
            {
                found = tenant;
            }
        }
        return found;
    }
}
