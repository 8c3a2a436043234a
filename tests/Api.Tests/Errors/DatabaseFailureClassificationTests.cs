using Microsoft.AspNetCore.Http;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;
using OutboxSync.Api.Errors;

namespace OutboxSync.Api.Tests.Errors;

/// <summary>
/// How the error middleware maps database failures, including the ones EF Core wraps: an outage is a 503 "retry
/// later", a missing grant a 500 that names it, anything else a plain 500. Driven without a server or database,
/// since an outage cannot be staged per request.
/// </summary>
public sealed class DatabaseFailureClassificationTests
{
    private const string Unavailable = "The database is unavailable; retry later.";
    private const string MissingGrant = "The database refused the operation (insufficient privilege): the API's database role lacks a grant.";
    private const string Internal = "Request failed: internal server error while processing your request.";

    private static PostgresException Pg(string sqlState) => new("failed", "ERROR", "ERROR", sqlState);

    private static DbUpdateException Update(Exception inner) => new("save failed", inner);

    // EF Core's transient-failure wrapper around a failed SaveChanges.
    private static InvalidOperationException Transient(Exception inner) => new("transient failure", inner);

    public static TheoryData<string, Func<Exception>, int, string> Failures() => new()
    {
        { "connection lost (08006)", () => Pg("08006"), 503, Unavailable },
        { "plain Npgsql failure", () => new NpgsqlException("broken"), 503, Unavailable },
        { "timeout", () => new TimeoutException(), 503, Unavailable },
        { "SaveChanges, connection lost", () => Update(Pg("08006")), 503, Unavailable },
        { "SaveChanges, too many connections (53300)", () => Update(Pg("53300")), 503, Unavailable },
        { "SaveChanges, admin shutdown (57P01)", () => Update(Pg("57P01")), 503, Unavailable },
        { "SaveChanges, Npgsql failure", () => Update(new NpgsqlException("broken")), 503, Unavailable },
        { "transient wrapper, Npgsql failure", () => Transient(new NpgsqlException("broken")), 503, Unavailable },
        { "transient wrapper, timeout", () => Transient(new TimeoutException()), 503, Unavailable },
        { "transient wrapper, SaveChanges, admin shutdown", () => Transient(Update(Pg("57P01"))), 503, Unavailable },
        { "transient wrapper, SaveChanges, Npgsql failure", () => Transient(Update(new NpgsqlException("broken"))), 503, Unavailable },
        { "missing grant", () => Pg("42501"), 500, MissingGrant },
        { "SaveChanges, missing grant", () => Update(Pg("42501")), 500, MissingGrant },
        { "transient wrapper, SaveChanges, missing grant", () => Transient(Update(Pg("42501"))), 500, MissingGrant },
        { "SaveChanges, internal error (XX000)", () => Update(Pg("XX000")), 500, Internal },
        { "transient wrapper, SaveChanges, internal error", () => Transient(Update(Pg("XX000"))), 500, Internal },
        { "SaveChanges without a database cause", () => Update(new ArgumentException("bad")), 500, Internal },
    };

    [Theory]
    [MemberData(nameof(Failures))]
    public async Task A_database_failure_maps_to_its_status_and_message(string why, Func<Exception> failure, int status, string message)
    {
        var context = new DefaultHttpContext { Response = { Body = new MemoryStream() } };
        var middleware = new NeutronErrorMiddleware(_ => throw failure(), NullLogger<NeutronErrorMiddleware>.Instance);

        await middleware.InvokeAsync(context);

        context.Response.Body.Position = 0;
        var error = JsonNode.Parse(context.Response.Body)!["NeutronError"]!;
        Assert.True(status == context.Response.StatusCode, $"{why}: {context.Response.StatusCode}, expected {status}");
        Assert.Equal(message, error["message"]!.GetValue<string>());
    }
}
