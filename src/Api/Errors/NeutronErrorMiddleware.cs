using System.Text.Json;
using Microsoft.AspNetCore.Http.Features;
using Npgsql;

namespace OutboxSync.Api.Errors;

/// <summary>
/// Turns every failure into Neutron's error shape. Bad input never reaches the 500 branch: it is caught as a
/// <see cref="NeutronException"/>, a malformed body or an oversized request first.
/// </summary>
public sealed partial class NeutronErrorMiddleware(RequestDelegate next, ILogger<NeutronErrorMiddleware> logger)
{
    public async Task InvokeAsync(HttpContext context)
    {
        try
        {
            await next(context);
        }
        catch (Exception e) when (!context.Response.HasStarted && !context.RequestAborted.IsCancellationRequested)
        {
            var (status, type, message) = Classify(e);
            if (status >= 500 && e is not NeutronException)
            {
                LogUnhandled(logger, e, context.Request.Method, context.Request.Path);
            }
            context.Response.Clear();
            if (e is NeutronException { Headers: var headers })
            {
                foreach (var (name, value) in headers)
                {
                    context.Response.Headers[name] = value;
                }
            }
            await NeutronErrorBody.WriteAsync(context, status, type, message);
        }
    }

    private static (int Status, string Type, string Message) Classify(Exception e) => e switch
    {
        NeutronException n => (n.Status, n.Type, n.Message),
        BadHttpRequestException { StatusCode: 413 } => (413, "HTTPRequestEntityTooLarge", "Request body too large."),
        BadHttpRequestException b => (b.StatusCode, "HTTPBadRequest", "Malformed request."),
        JsonException => (400, "HTTPBadRequest", "Malformed request body."),
        InvalidOperationException { InnerException: JsonException } => (400, "HTTPBadRequest", "Malformed request body."),
        // System.Text.Json reads string values lazily; a lone surrogate escape ("\ud800") fails only then.
        InvalidOperationException i when i.TargetSite?.DeclaringType?.Namespace?.StartsWith("System.Text.Json", StringComparison.Ordinal) == true =>
            (400, "HTTPBadRequest", "Malformed request body: invalid text."),
        Microsoft.EntityFrameworkCore.DbUpdateException { InnerException: PostgresException { SqlState: PostgresErrorCodes.UniqueViolation } pg } =>
            pg.ConstraintName switch
            {
                "ip_allocations_pkey" => (409, "IpAddressAlreadyAllocated", "The requested IP address is already allocated."),
                "ports_mac_address_key" => (409, "MacAddressInUse", "The mac address is in use."),
                "router_interfaces_router_subnet" => (400, "BadRequest", "Bad router request: Router already has a port on this subnet."),
                _ => (409, "Conflict", "A concurrent request created a conflicting resource."),
            },
        Microsoft.EntityFrameworkCore.DbUpdateException { InnerException: PostgresException { SqlState: PostgresErrorCodes.ForeignKeyViolation } } =>
            (409, "Conflict", "A related resource was changed concurrently; retry."),
        PostgresException { SqlState: PostgresErrorCodes.SerializationFailure or PostgresErrorCodes.DeadlockDetected } =>
            (409, "Conflict", "A concurrent request changed the same resource; retry."),
        // Class 22 is "data exception": a value PostgreSQL cannot hold is the request's fault.
        PostgresException { SqlState: var state } when state.StartsWith("22", StringComparison.Ordinal) =>
            (400, "HTTPBadRequest", "Invalid input: a value cannot be stored."),
        // EF Core reports a database that went away (restart, killed session) inside its own exceptions: a transient
        // failure as InvalidOperationException, a failed SaveChanges as DbUpdateException. Still unavailable, not a bug.
        InvalidOperationException or Microsoft.EntityFrameworkCore.DbUpdateException when IsUnavailable(e.InnerException) =>
            (503, "ServiceUnavailable", "The database is unavailable; retry later."),
        // A missing grant is this deployment's misconfiguration, not an outage: say so instead of "retry later".
        _ when Chain(e).OfType<PostgresException>().LastOrDefault() is { SqlState: PostgresErrorCodes.InsufficientPrivilege } =>
            (500, "HTTPInternalServerError", "The database refused the operation (insufficient privilege): the API's database role lacks a grant."),
        NpgsqlException or TimeoutException => (503, "ServiceUnavailable", "The database is unavailable; retry later."),
        _ => (500, "HTTPInternalServerError", "Request failed: internal server error while processing your request."),
    };

    /// <summary>A lost connection, a timeout, or the server refusing or ending sessions (classes 08, 53, 57P), possibly
    /// inside EF Core's DbUpdateException.</summary>
    private static bool IsUnavailable(Exception? e) =>
        // The first cause below EF Core's DbUpdateExceptions decides: the transient-failure wrapper holds the
        // DbUpdateException that holds the database's exception.
        Chain(e).FirstOrDefault(x => x is not Microsoft.EntityFrameworkCore.DbUpdateException) switch
        {
            PostgresException { SqlState: var state } => state.StartsWith("08", StringComparison.Ordinal)
                || state.StartsWith("53", StringComparison.Ordinal) || state.StartsWith("57P", StringComparison.Ordinal),
            NpgsqlException or TimeoutException => true,
            _ => false,
        };

    /// <summary>The exception and its inner exceptions, outermost first.</summary>
    private static IEnumerable<Exception> Chain(Exception? e)
    {
        for (; e is not null; e = e.InnerException)
        {
            yield return e;
        }
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "Unhandled failure for {Method} {Path}")]
    private static partial void LogUnhandled(ILogger logger, Exception e, string method, string path);
}

public static class RequestSizeLimits
{
    /// <summary>Marks the request's body limit so oversized bodies fail fast with 413 before parsing.</summary>
    public static void Apply(HttpContext context, long maxBodyBytes)
    {
        // Refuse a declared oversized body up front, also on routes that never read their body.
        if (context.Request.ContentLength > maxBodyBytes)
        {
            throw new NeutronException(413, "HTTPRequestEntityTooLarge", "Request body too large.");
        }
        var feature = context.Features.Get<IHttpMaxRequestBodySizeFeature>();
        if (feature is { IsReadOnly: false })
        {
            feature.MaxRequestBodySize = maxBodyBytes;
        }
    }
}
