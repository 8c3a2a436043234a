using OutboxSync.Api.Errors;

namespace OutboxSync.Api.Auth;

/// <summary>Requires a valid X-Auth-Token on every /v2.0 call and an admin token on the operator API
/// (/admin); version documents and health stay open.</summary>
public sealed class TokenAuthenticationMiddleware(RequestDelegate next, TokenRegistry tokens)
{
    public Task InvokeAsync(HttpContext context)
    {
        var path = context.Request.Path;
        var isOperator = path.StartsWithSegments("/admin");
        if (!isOperator && (!path.StartsWithSegments("/v2.0") || path.Value is "/v2.0" or "/v2.0/"))
        {
            return next(context);
        }
        var token = context.Request.Headers["X-Auth-Token"].ToString();
        if (string.IsNullOrEmpty(token) || tokens.Find(token) is not { } tenant)
        {
            throw NeutronException.Unauthorized();
        }
        if (isOperator && !tenant.IsAdmin)
        {
            throw NeutronException.Forbidden("The operator API requires the admin role.");
        }
        tenant.Attach(context);
        return next(context);
    }
}
