using System.ComponentModel.DataAnnotations;

namespace OutboxSync.Api.Auth;

/// <summary>
/// Validation of <c>X-Auth-Token</c> against a Keystone v3 identity service (section <c>Auth:Keystone</c>), as
/// keystonemiddleware's auth_token does. Off unless <see cref="AuthUrl"/> is set; the static token file (section
/// <c>Auth</c>) keeps working beside it and is looked up first.
/// </summary>
public sealed class KeystoneOptions
{
    public const string Section = "Auth:Keystone";

    /// <summary>Keystone's identity endpoint the API talks to, e.g. <c>http://keystone:5000</c> (a trailing <c>/v3</c> is
    /// accepted). Default: none, Keystone validation off.</summary>
    [Url(ErrorMessage = "Auth:Keystone:AuthUrl must be an absolute http(s) URL.")]
    public string? AuthUrl { get; set; }

    /// <summary>The public identity endpoint named in 401 responses' <c>WWW-Authenticate: Keystone uri="…"</c> (keystonemiddleware's
    /// www_authenticate_uri), for clients outside the network <see cref="AuthUrl"/> is on. Default: <see cref="AuthUrl"/>.</summary>
    [Url(ErrorMessage = "Auth:Keystone:WwwAuthenticateUri must be an absolute http(s) URL.")]
    public string? WwwAuthenticateUri { get; set; }

    /// <summary>The API's own service user, which validates callers' tokens; it needs the <c>service</c> (or admin)
    /// role on <see cref="ProjectName"/>. Default: <c>neutron</c>.</summary>
    public string Username { get; set; } = "neutron";

    /// <summary>The service user's password. Required when <see cref="AuthUrl"/> is set.</summary>
    public string? Password { get; set; }

    /// <summary>The service user's domain. Default: <c>Default</c>.</summary>
    public string UserDomainName { get; set; } = "Default";

    /// <summary>The project the service token is scoped to. Default: <c>service</c>.</summary>
    public string ProjectName { get; set; } = "service";

    /// <summary>The service project's domain. Default: <c>Default</c>.</summary>
    public string ProjectDomainName { get; set; } = "Default";

    /// <summary>How long a validated token is trusted without asking Keystone again; never past the token's own
    /// <c>expires_at</c>. A token revoked in Keystone keeps working for at most this long. <c>00:00:00</c> asks
    /// Keystone on every request, so a revocation takes effect at once (at one Keystone call per request).
    /// Default: 5 minutes (keystonemiddleware's token_cache_time).</summary>
    [Range(typeof(TimeSpan), "00:00:00", "01:00:00", ErrorMessage = "Auth:Keystone:CacheDuration must be between 00:00:00 and 01:00:00.")]
    public TimeSpan CacheDuration { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>Most tokens (valid and invalid) held in the cache, so a flood of bogus tokens cannot grow memory;
    /// invalid ones are dropped first when it is full. Default: 10000.</summary>
    [Range(1, 10_000_000, ErrorMessage = "Auth:Keystone:MaxCachedTokens must be between 1 and 10000000.")]
    public int MaxCachedTokens { get; set; } = 10_000;

    /// <summary>How long one call to Keystone may take before the request gets 503. Default: 5 seconds.</summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "00:01:00", ErrorMessage = "Auth:Keystone:Timeout must be between 00:00:00.100 and 00:01:00.")]
    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>The service token is renewed this long before its <c>expires_at</c>. Default: 2 minutes.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "01:00:00", ErrorMessage = "Auth:Keystone:ServiceTokenRenewBefore must be between 00:00:00 and 01:00:00.")]
    public TimeSpan ServiceTokenRenewBefore { get; set; } = TimeSpan.FromMinutes(2);

    public bool Enabled => !string.IsNullOrWhiteSpace(AuthUrl);

    // Methods, not properties: options validation reads every property, also when Keystone is off.

    /// <summary>The identity API's root (<c>…/v3</c>), whichever form <see cref="AuthUrl"/> was given in.</summary>
    public Uri IdentityV3() => new(AuthUrl!.TrimEnd('/').EndsWith("/v3", StringComparison.Ordinal)
        ? AuthUrl.TrimEnd('/') + "/"
        : AuthUrl.TrimEnd('/') + "/v3/");

    /// <summary>The <c>WWW-Authenticate</c> value of a 401.</summary>
    public string Challenge() => $"Keystone uri=\"{(WwwAuthenticateUri ?? AuthUrl)!.TrimEnd('/')}\"";
}
