using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using Npgsql;
using OutboxSync.Api.Accept;
using OutboxSync.Api.Lists;
using OutboxSync.Persistence;

namespace OutboxSync.Api.Endpoints;

/// <summary>What every resource endpoint needs, injected as one <c>[AsParameters]</c> bundle.</summary>
public sealed record ResourceServices(
    OutboxSyncDbContext Db,
    AcceptTransaction Accept,
    ResourceLookup Lookup,
    ResourceLister Lister,
    PortBindings Bindings,
    DefaultSecurityGroups SecurityGroupDefaults,
    TimeProvider Time,
    IOptions<ApiOptions> Options)
{
    /// <summary>The EF Core context's connection, for raw statements inside its open transaction.</summary>
    public NpgsqlConnection Connection => (NpgsqlConnection)Db.Database.GetDbConnection();
}
