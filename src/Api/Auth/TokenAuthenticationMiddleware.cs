using OutboxSync.Api.Errors;

namespace OutboxSync.Api.Auth;

/// <summary>
/// Requires a valid X-Auth-Token on every /v2.0 call and an admin token on the operator API (/admin); version
/// documents and health stay open. A token is looked up in the static token file first, then (when configured) in
/// Keystone. Callers holding only the reader role may read, never write.
/// </summary>
public sealed class TokenAuthenticationMiddleware(RequestDelegate next, TokenRegistry tokens, KeystoneTokenCache? keystone = null)
{
    private const int KeystoneRetryAfterSeconds = 5;

    public async Task InvokeAsync(HttpContext context)
    {
        var path = context.Request.Path;
        var isOperator = path.StartsWithSegments("/admin");
        if (!isOperator && (!path.StartsWithSegments("/v2.0") || path.Value is "/v2.0" or "/v2.0/"))
        {
            await next(context);
            return;
        }
        var tenant = await AuthenticateAsync(context.Request.Headers["X-Auth-Token"].ToString(), context.RequestAborted);
        if (isOperator && !tenant.IsAdmin)
        {
            throw NeutronException.Forbidden("The operator API requires the admin role.");
        }
        if (tenant.ReadOnly && !HttpMethods.IsGet(context.Request.Method) && !HttpMethods.IsHead(context.Request.Method))
        {
            throw NeutronException.Forbidden("The reader role may only read: this request needs the member or admin role.");
        }
        tenant.Attach(context);
        await next(context);
    }

    private async ValueTask<TenantContext> AuthenticateAsync(string token, CancellationToken ct)
    {
        if (string.IsNullOrEmpty(token))
        {
            throw keystone is null ? NeutronException.Unauthorized() : NeutronException.Unauthorized(keystone.Challenge);
        }
        if (tokens.Find(token) is { } known)
        {
            return known;
        }
        if (keystone is null)
        {
            throw NeutronException.Unauthorized();
        }
        try
        {
            return await keystone.AuthenticateAsync(token, ct);
        }
        catch (KeystoneUnavailableException)
        {
            // Never an unvalidated pass: the client retries, as it would against keystonemiddleware's 503.
            throw NeutronException.ServiceUnavailable("The identity service (Keystone) is unavailable; retry later.", KeystoneRetryAfterSeconds);
        }
    }
}
