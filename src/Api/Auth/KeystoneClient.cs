using System.Net;
using System.Text.Json;
using Microsoft.Extensions.Options;
using Polly;
using Polly.Retry;

namespace OutboxSync.Api.Auth;

/// <summary>What Keystone says about a caller's token.</summary>
public sealed record KeystoneIdentity(
    string UserId, string UserName, string? ProjectId, string? ProjectName, IReadOnlyList<string> Roles, DateTimeOffset ExpiresAt);

/// <summary>Keystone could not answer (down, slow, or refusing the API's own service user): the caller gets 503, never
/// an unvalidated pass.</summary>
public sealed class KeystoneUnavailableException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>
/// The Keystone v3 calls the API makes: it authenticates as its own service user (password, project-scoped) and keeps
/// that token, renewing it before it expires or when Keystone stops accepting it, and validates callers' tokens with
/// <c>GET /v3/auth/tokens</c> (<c>X-Subject-Token</c>).
/// </summary>
public sealed partial class KeystoneClient(IHttpClientFactory httpClients, IOptions<KeystoneOptions> options, TimeProvider time, ILogger<KeystoneClient> logger)
{
    /// <summary>The named HttpClient (its timeout is <see cref="KeystoneOptions.Timeout"/>).</summary>
    public const string HttpClientName = "keystone";

    private readonly SemaphoreSlim _renewal = new(1, 1);

    /// <summary>One immediate retry of a transport failure: a pooled connection the server closed after its last
    /// answer (keep-alive ending, a restart) fails only its first reuse. Both calls are safe to repeat.</summary>
    private readonly ResiliencePipeline _transport = new ResiliencePipelineBuilder { TimeProvider = time }
        .AddRetry(new RetryStrategyOptions
        {
            ShouldHandle = new PredicateBuilder().Handle<HttpRequestException>(),
            MaxRetryAttempts = 1,
            Delay = TimeSpan.Zero,
        })
        .Build();
    private ServiceToken? _serviceToken;

    private sealed record ServiceToken(string Value, DateTimeOffset ExpiresAt);

    /// <summary>The token's identity, or null when Keystone does not know it (invalid, expired or revoked).</summary>
    public async Task<KeystoneIdentity?> ValidateAsync(string token, CancellationToken ct)
    {
        ServiceToken? rejected = null;
        for (var attempt = 1; ; attempt++)
        {
            var service = await ServiceTokenAsync(rejected, ct);
            using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(options.Value.IdentityV3(), "auth/tokens?nocatalog"));
            request.Headers.Add("X-Auth-Token", service.Value);
            request.Headers.Add("X-Subject-Token", token);
            using var response = await SendAsync(request, ct);
            switch (response.StatusCode)
            {
                case HttpStatusCode.OK:
                    return await ReadIdentityAsync(response, ct);
                case HttpStatusCode.NotFound:
                    return null;
                case HttpStatusCode.Unauthorized when attempt == 1:
                    // The service token was revoked or expired early: get a new one and ask once more.
                    rejected = service;
                    continue;
                default:
                    LogValidationRefused(logger, (int)response.StatusCode, options.Value.Username);
                    throw new KeystoneUnavailableException($"Keystone answered {(int)response.StatusCode} to token validation.");
            }
        }
    }

    private async Task<ServiceToken> ServiceTokenAsync(ServiceToken? rejected, CancellationToken ct)
    {
        var current = _serviceToken;
        if (current is not null && current != rejected && !NeedsRenewal(current))
        {
            return current;
        }
        await _renewal.WaitAsync(ct);
        try
        {
            current = _serviceToken;
            if (current is not null && current != rejected && !NeedsRenewal(current))
            {
                return current;
            }
            _serviceToken = await AuthenticateServiceUserAsync(ct);
            return _serviceToken;
        }
        finally
        {
            _renewal.Release();
        }
    }

    private bool NeedsRenewal(ServiceToken token) => token.ExpiresAt - options.Value.ServiceTokenRenewBefore <= time.GetUtcNow();

    private async Task<ServiceToken> AuthenticateServiceUserAsync(CancellationToken ct)
    {
        var o = options.Value;
        var body = new
        {
            auth = new
            {
                identity = new
                {
                    methods = new[] { "password" },
                    password = new { user = new { name = o.Username, domain = new { name = o.UserDomainName }, password = o.Password } },
                },
                scope = new { project = new { name = o.ProjectName, domain = new { name = o.ProjectDomainName } } },
            },
        };
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(o.IdentityV3(), "auth/tokens?nocatalog"))
        {
            // Buffered, so it goes with a Content-Length: uwsgi's HTTP socket reads no chunked request bodies.
            Content = new StringContent(JsonSerializer.Serialize(body), System.Text.Encoding.UTF8, "application/json"),
        };
        using var response = await SendAsync(request, ct);
        if (response.StatusCode != HttpStatusCode.Created
            || !response.Headers.TryGetValues("X-Subject-Token", out var values) || values.FirstOrDefault() is not { Length: > 0 } value)
        {
            LogServiceAuthenticationFailed(logger, (int)response.StatusCode, o.Username, o.ProjectName);
            throw new KeystoneUnavailableException($"The API's service user could not authenticate with Keystone ({(int)response.StatusCode}).");
        }
        var identity = await ReadIdentityAsync(response, ct);
        LogServiceTokenObtained(logger, o.Username, identity.ExpiresAt);
        return new ServiceToken(value, identity.ExpiresAt);
    }

    private async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken ct)
    {
        try
        {
            return await _transport.ExecuteAsync(
                async token => await httpClients.CreateClient(HttpClientName).SendAsync(Clone(request), HttpCompletionOption.ResponseContentRead, token), ct);
        }
        catch (HttpRequestException e)
        {
            throw new KeystoneUnavailableException("Keystone is unreachable.", e);
        }
        catch (TaskCanceledException e) when (!ct.IsCancellationRequested)
        {
            throw new KeystoneUnavailableException($"Keystone did not answer within {options.Value.Timeout.TotalSeconds:0.###} s.", e);
        }
    }

    /// <summary>A request message is sent once; a retry sends a copy.</summary>
    private static HttpRequestMessage Clone(HttpRequestMessage request)
    {
        var copy = new HttpRequestMessage(request.Method, request.RequestUri) { Content = request.Content };
        foreach (var (name, values) in request.Headers)
        {
            copy.Headers.TryAddWithoutValidation(name, values);
        }
        return copy;
    }

    /// <summary>Reads the parts of Keystone's token document the API uses (user, project scope, roles, expiry).</summary>
    private static async Task<KeystoneIdentity> ReadIdentityAsync(HttpResponseMessage response, CancellationToken ct)
    {
        try
        {
            using var document = await JsonDocument.ParseAsync(await response.Content.ReadAsStreamAsync(ct), cancellationToken: ct);
            var token = document.RootElement.GetProperty("token");
            var user = token.GetProperty("user");
            var project = token.TryGetProperty("project", out var p) && p.ValueKind == JsonValueKind.Object ? p : (JsonElement?)null;
            var roles = token.TryGetProperty("roles", out var r) && r.ValueKind == JsonValueKind.Array
                ? r.EnumerateArray().Select(x => x.GetProperty("name").GetString()!).ToArray()
                : [];
            return new KeystoneIdentity(
                user.GetProperty("id").GetString()!,
                user.GetProperty("name").GetString()!,
                project?.GetProperty("id").GetString(),
                project?.GetProperty("name").GetString(),
                roles,
                token.GetProperty("expires_at").GetDateTimeOffset());
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException or FormatException)
        {
            throw new KeystoneUnavailableException("Keystone answered with a token document the API cannot read.", e);
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Keystone service token for {User} obtained; it expires at {ExpiresAt:o}")]
    private static partial void LogServiceTokenObtained(ILogger logger, string user, DateTimeOffset expiresAt);

    [LoggerMessage(Level = LogLevel.Error, Message = "Keystone refused the API's service user {User} on project {Project} ({Status}): check Auth:Keystone:Username, Password and ProjectName")]
    private static partial void LogServiceAuthenticationFailed(ILogger logger, int status, string user, string project);

    [LoggerMessage(Level = LogLevel.Error, Message = "Keystone answered {Status} to token validation: the service user {User} needs the service or admin role")]
    private static partial void LogValidationRefused(ILogger logger, int status, string user);
}
