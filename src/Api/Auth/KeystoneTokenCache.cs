using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Caching.Memory;
using Microsoft.Extensions.Options;
using OutboxSync.Api.Errors;
using OutboxSync.Hosting;

namespace OutboxSync.Api.Auth;

/// <summary>
/// Turns a caller's token into a <see cref="TenantContext"/> through Keystone, remembering Keystone's verdict for
/// <see cref="KeystoneOptions.CacheDuration"/> and never past the token's <c>expires_at</c>. The cache is bounded
/// (<see cref="KeystoneOptions.MaxCachedTokens"/>) and keyed by the token's SHA-256, so it holds no token; concurrent
/// requests with one uncached token make one Keystone call.
/// </summary>
public sealed partial class KeystoneTokenCache : IDisposable
{
    private static readonly Counter<long> Validations = Telemetry.Meter.CreateCounter<long>(
        "outboxsync.api.keystone_validations", description: "Tokens validated with Keystone (cache misses), by outcome");

    /// <summary>Fernet tokens are under 300 characters, PKI ones never exceeded a few KiB: anything longer or outside
    /// printable ASCII is refused without asking Keystone.</summary>
    private const int MaxTokenLength = 8192;

    private readonly KeystoneClient _client;
    private readonly KeystoneOptions _options;
    private readonly TimeProvider _time;
    private readonly MemoryCache _cache;
    private readonly ConcurrentDictionary<string, Task<Verdict>> _inFlight = new();

    private readonly ILogger<KeystoneTokenCache> _logger;

    public KeystoneTokenCache(KeystoneClient client, IOptions<KeystoneOptions> options, TimeProvider time, ILogger<KeystoneTokenCache> logger)
    {
        _logger = logger;
        _client = client;
        _options = options.Value;
        _time = time;
        _cache = new MemoryCache(new MemoryCacheOptions { SizeLimit = _options.MaxCachedTokens });
    }

    /// <summary>The <c>WWW-Authenticate</c> value of a 401.</summary>
    public string Challenge => _options.Challenge();

    /// <summary>Tokens whose verdict is held now (for tests and diagnostics).</summary>
    public int Count => _cache.Count;

    /// <summary>The caller, or a 401/403 <see cref="NeutronException"/>; <see cref="KeystoneUnavailableException"/> when
    /// Keystone cannot answer for a token not in the cache.</summary>
    public async ValueTask<TenantContext> AuthenticateAsync(string token, CancellationToken ct)
    {
        if (token.Length > MaxTokenLength || token.Any(c => c is < '!' or > '~'))
        {
            throw NeutronException.Unauthorized(_options.Challenge());
        }
        var key = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(token)));
        if (!_cache.TryGetValue(key, out Verdict? verdict) || verdict!.ValidUntil <= _time.GetUtcNow())
        {
            var validation = _inFlight.GetOrAdd(key, _ => ValidateAsync(key, token));
            try
            {
                verdict = await validation.WaitAsync(ct);
            }
            finally
            {
                if (validation.IsCompleted)
                {
                    _inFlight.TryRemove(new KeyValuePair<string, Task<Verdict>>(key, validation));
                }
            }
        }
        return verdict.Tenant ?? throw verdict.Refusal!();
    }

    private async Task<Verdict> ValidateAsync(string key, string token)
    {
        // Shared by every request waiting on this token, so no single request's cancellation ends it; the client's
        // timeout bounds it.
        KeystoneIdentity? identity;
        try
        {
            identity = await _client.ValidateAsync(token, CancellationToken.None);
        }
        catch (KeystoneUnavailableException e)
        {
            LogUnavailable(_logger, e.Message);
            Validations.Add(1, new KeyValuePair<string, object?>("outcome", "unavailable"));
            throw;
        }
        var now = _time.GetUtcNow();
        var verdict = Judge(identity, now);
        Validations.Add(1, new KeyValuePair<string, object?>("outcome", verdict.Outcome));
        if (verdict.ValidUntil > now)
        {
            using var entry = _cache.CreateEntry(key);
            entry.Value = verdict;
            entry.Size = 1;
            // Eviction only; whether an entry still counts is decided by ValidUntil against the injected clock.
            entry.AbsoluteExpirationRelativeToNow = verdict.ValidUntil - now;
            entry.Priority = verdict.Tenant is null ? CacheItemPriority.Low : CacheItemPriority.Normal;
        }
        return verdict;
    }

    private Verdict Judge(KeystoneIdentity? identity, DateTimeOffset now)
    {
        var cacheUntil = now + _options.CacheDuration;
        if (identity is null || identity.ExpiresAt <= now)
        {
            // A token Keystone rejected never becomes valid again.
            return new Verdict(null, () => NeutronException.Unauthorized(_options.Challenge()), cacheUntil, "invalid");
        }
        var until = identity.ExpiresAt < cacheUntil ? identity.ExpiresAt : cacheUntil;
        if (identity.ProjectId is null)
        {
            return new Verdict(null, () => NeutronException.Forbidden(
                "Only project-scoped tokens are accepted: authenticate with a project scope (--os-project-name)."), until, "unscoped");
        }
        var name = identity.UserName;
        return TenantContext.ForRoles(identity.ProjectId, name, identity.Roles) is { } tenant
            ? new Verdict(tenant, null, until, "valid")
            : new Verdict(null, () => NeutronException.Forbidden(
                $"The token's roles ({string.Join(", ", identity.Roles)}) grant no access to the network API: admin, member or reader is needed."),
                until, "no_role");
    }

    public void Dispose() => _cache.Dispose();

    [LoggerMessage(Level = LogLevel.Warning, Message = "A token could not be validated, the request gets 503: {Reason}")]
    private static partial void LogUnavailable(ILogger logger, string reason);

    /// <summary>Keystone's answer: the caller, or how to refuse it (a new exception per request).</summary>
    private sealed record Verdict(TenantContext? Tenant, Func<NeutronException>? Refusal, DateTimeOffset ValidUntil, string Outcome);
}
