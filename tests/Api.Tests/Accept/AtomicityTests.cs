using System.Data.Common;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Diagnostics;
using Microsoft.Extensions.DependencyInjection;
using OutboxSync.Persistence;
using static OutboxSync.Api.Tests.Infrastructure.Neutron;

namespace OutboxSync.Api.Tests.Accept;

/// <summary>
/// The accept path writes resource rows and outbox entries in one batch inside one transaction; a failure after
/// both were written and before COMMIT (injected at COMMIT), or at the outbox entry after the row (network creates,
/// which run as one raw batch), must leave neither behind.
/// </summary>
public sealed partial class AtomicityTests(ApiFactory api) : IClassFixture<ApiFactory>, IAsyncLifetime
{
    private readonly FailOutboxInsert _interceptor = new();
    private WebApplicationFactory<Program> _failing = null!;
    private ApiClient _p1Failing = null!;

    public Task InitializeAsync()
    {
        _failing = api.WithWebHostBuilder(b => b.ConfigureTestServices(services =>
            services.ConfigureDbContext<OutboxSyncDbContext>(o => o.AddInterceptors(_interceptor, _interceptor.AtCommit))));
        _p1Failing = new ApiClient(_failing.CreateClient(), ApiFactory.P1Token);
        return Task.CompletedTask;
    }

    public async Task DisposeAsync() => await _failing.DisposeAsync();

    /// <summary>Records the resource writes and whether an outbox INSERT ran; <see cref="FailIfOutboxWritten"/> fails the commit.</summary>
    private sealed partial class FailOutboxInsert : DbCommandInterceptor
    {
        private readonly List<string> _writesBeforeFailure = [];
        public int Failures { get; private set; }

        public IReadOnlyList<string> WritesBeforeFailure
        {
            get
            {
                lock (_writesBeforeFailure)
                {
                    return [.. _writesBeforeFailure];
                }
            }
        }

        public void Reset()
        {
            lock (_writesBeforeFailure)
            {
                _writesBeforeFailure.Clear();
                _outboxWritten = false;
                Failures = 0;
            }
        }

        private bool _outboxWritten;

        private void Inspect(DbCommand command)
        {
            var text = command.CommandText;
            lock (_writesBeforeFailure)
            {
                _writesBeforeFailure.AddRange(ResourceWrite().Matches(text).Select(w => w.Value));
                _outboxWritten |= OutboxInsert().IsMatch(text);
            }
        }

        /// <summary>Called at COMMIT: fails the transaction once rows and entries were both written in it.</summary>
        public void FailIfOutboxWritten()
        {
            lock (_writesBeforeFailure)
            {
                if (!_outboxWritten)
                {
                    return;
                }
                _outboxWritten = false;
                Failures++;
            }
            throw new InvalidOperationException("Injected failure after the resource and outbox writes, before COMMIT.");
        }

        public override InterceptionResult<DbDataReader> ReaderExecuting(DbCommand command, CommandEventData eventData, InterceptionResult<DbDataReader> result)
        {
            Inspect(command);
            return result;
        }

        public override ValueTask<InterceptionResult<DbDataReader>> ReaderExecutingAsync(DbCommand command, CommandEventData eventData,
            InterceptionResult<DbDataReader> result, CancellationToken cancellationToken = default)
        {
            Inspect(command);
            return ValueTask.FromResult(result);
        }

        public override InterceptionResult<int> NonQueryExecuting(DbCommand command, CommandEventData eventData, InterceptionResult<int> result)
        {
            Inspect(command);
            return result;
        }

        public override ValueTask<InterceptionResult<int>> NonQueryExecutingAsync(DbCommand command, CommandEventData eventData,
            InterceptionResult<int> result, CancellationToken cancellationToken = default)
        {
            Inspect(command);
            return ValueTask.FromResult(result);
        }

        public CommitFailure AtCommit => new(this);

        [GeneratedRegex("insert\\s+into\\s+\"?outbox_entries\"?", RegexOptions.IgnoreCase)]
        private static partial Regex OutboxInsert();

        [GeneratedRegex("(insert\\s+into|update|delete\\s+from)\\s+\"?(networks|subnets|ports|routers|ip_allocations|router_interfaces)\"?",
            RegexOptions.IgnoreCase)]
        private static partial Regex ResourceWrite();
    }

    private sealed class CommitFailure(FailOutboxInsert owner) : DbTransactionInterceptor
    {
        public override InterceptionResult TransactionCommitting(DbTransaction transaction, TransactionEventData eventData, InterceptionResult result)
        {
            owner.FailIfOutboxWritten();
            return result;
        }

        public override ValueTask<InterceptionResult> TransactionCommittingAsync(DbTransaction transaction, TransactionEventData eventData,
            InterceptionResult result, CancellationToken cancellationToken = default)
        {
            owner.FailIfOutboxWritten();
            return ValueTask.FromResult(result);
        }
    }

    private async Task AssertRolledBackAsync(Func<ApiClient, Task<ApiResponse>> act)
    {
        _interceptor.Reset();
        var before = await api.Db.FingerprintAsync();

        var response = await act(_p1Failing);

        Assert.True(_interceptor.Failures > 0, $"the outbox INSERT was never attempted; response {(int)response.Status}: {response.Text}");
        Assert.NotEmpty(_interceptor.WritesBeforeFailure);
        Assert.False(response.Status is >= HttpStatusCode.OK and < HttpStatusCode.Ambiguous, $"expected an error, got {response.Status}: {response.Text}");
        response.ExpectNeutronError(response.Status);
        Assert.Equal(before, await api.Db.FingerprintAsync());

        // The API is healthy afterwards: no connection was left inside a broken transaction.
        await api.P1.CreateNetworkAsync();
    }

    /// <summary>
    /// Network and port creates bypass EF Core (rows and entries in raw batches, <c>AcceptTransaction</c>), so their
    /// failure is injected in the database: a trigger rejects the outbox entry of the resource named
    /// <paramref name="failing"/>, and only once <paramref name="written"/> (SQL over <c>$name</c>) holds, i.e. its
    /// rows are already written in the same transaction.
    /// </summary>
    private async Task AssertCreateRolledBackAsync(string collection, string failing, JsonObject body, string written)
    {
        // The project's default security group is made on first use in its own transaction (as in Neutron): make
        // it before the failure is armed, so the fingerprint shows only what the failing create wrote.
        (await api.P1.GetAsync("/v2.0/security-groups")).Expect(HttpStatusCode.OK);
        // Names come from Unique(): letters, digits and '-', safe inside the literal.
        await api.Db.ExecuteAsync($$"""
            create function fail_outbox_insert() returns trigger language plpgsql as $f$
            begin
              if new.payload->>'name' = '{{failing}}' and ({{written.Replace("$name", $"'{failing}'")}}) then
                raise exception 'injected failure after the resource rows, at the outbox entry';
              end if;
              return new;
            end $f$;
            create trigger fail_outbox_insert before insert on outbox_entries for each row execute function fail_outbox_insert();
            """);
        try
        {
            var before = await api.Db.FingerprintAsync();
            var response = await api.P1.PostAsync($"/v2.0/{collection}", body);
            Assert.False(response.Status is >= HttpStatusCode.OK and < HttpStatusCode.Ambiguous, $"expected an error, got {response.Status}: {response.Text}");
            response.ExpectNeutronError(response.Status);
            Assert.Equal(before, await api.Db.FingerprintAsync());
        }
        finally
        {
            await api.Db.ExecuteAsync("drop trigger fail_outbox_insert on outbox_entries; drop function fail_outbox_insert()");
        }
    }

    private async Task AssertCreateRolledBackAsync(string failing, JsonObject body)
    {
        await AssertCreateRolledBackAsync("networks", failing, body, "exists (select 1 from networks where name = $name)");
        await api.P1.CreateNetworkAsync();
    }

    private const string PortAndAddressWritten =
        "exists (select 1 from ports p join ip_allocations a on a.port_id = p.id where p.name = $name)";

    [Fact]
    public async Task A_failure_at_the_outbox_insert_leaves_no_network_after_a_create()
    {
        var name = Unique("atomic");
        await AssertCreateRolledBackAsync(name, new JsonObject { ["network"] = new JsonObject { ["name"] = name } });
        Assert.Equal(0, await api.Db.ScalarAsync<long>("select count(*) from networks where name = $1", name));
        Assert.Empty((await api.P1.GetAsync($"/v2.0/networks?name={name}")).Expect(HttpStatusCode.OK).Items("networks"));
    }

    [Fact]
    public async Task A_failure_at_the_second_outbox_insert_leaves_no_network_of_a_bulk_create()
    {
        var (first, second) = (Unique("bulk"), Unique("bulk"));
        await AssertCreateRolledBackAsync(second, new JsonObject
        {
            ["networks"] = new JsonArray(new JsonObject { ["name"] = first }, new JsonObject { ["name"] = second }),
        });
        Assert.Equal(0, await api.Db.ScalarAsync<long>("select count(*) from networks where name = any($1)", (object)new[] { first, second }));
    }

    [Fact]
    public async Task A_failure_after_the_outbox_insert_leaves_a_network_update_unapplied()
    {
        var n = await api.P1.CreateNetworkAsync();
        await AssertRolledBackAsync(c => c.PutAsync($"/v2.0/networks/{Id(n)}",
            new JsonObject { ["network"] = new JsonObject { ["name"] = "never" } }));
        var shown = await api.P1.ShowAsync("networks", Id(n), "network");
        Assert.Equal(Str(n, "name"), Str(shown, "name"));
        Assert.Equal(1, Revision(shown));
    }

    [Fact]
    public async Task A_failure_after_the_outbox_insert_leaves_a_network_and_its_subnets_undeleted()
    {
        var (n, s) = await api.P1.CreateNetworkWithSubnetAsync();
        await AssertRolledBackAsync(c => c.DeleteAsync($"/v2.0/networks/{Id(n)}"));
        Assert.Equal("PENDING_CREATE", Str(await api.P1.ShowAsync("networks", Id(n), "network"), "status"));
        Assert.Equal("PENDING_CREATE", Str(await api.P1.ShowAsync("subnets", Id(s), "subnet"), "status"));
    }

    [Fact]
    public async Task A_failure_after_the_outbox_insert_leaves_no_subnet()
    {
        var n = await api.P1.CreateNetworkAsync();
        await AssertRolledBackAsync(c => c.PostAsync("/v2.0/subnets", new JsonObject
        {
            ["subnet"] = new JsonObject { ["network_id"] = Id(n), ["cidr"] = "10.0.0.0/24", ["ip_version"] = 4 },
        }));
    }

    [Fact]
    public async Task A_failure_at_the_outbox_insert_leaves_no_port_and_no_address_allocation()
    {
        var (n, _) = await api.P1.CreateNetworkWithSubnetAsync();
        var name = Unique("atomic");
        await AssertCreateRolledBackAsync("ports", name,
            new JsonObject { ["port"] = new JsonObject { ["network_id"] = Id(n), ["name"] = name } }, PortAndAddressWritten);
        Assert.Equal(0, await api.Db.ScalarAsync<long>("select count(*) from ports where name = $1", name));
        (await api.P1.PostAsync("/v2.0/ports", new JsonObject { ["port"] = new JsonObject { ["network_id"] = Id(n) } })).Expect(HttpStatusCode.Created);
    }

    [Fact]
    public async Task A_failure_at_the_second_outbox_insert_leaves_no_port_of_a_bulk_create()
    {
        var (n, _) = await api.P1.CreateNetworkWithSubnetAsync();
        var (first, second) = (Unique("bulk"), Unique("bulk"));
        await AssertCreateRolledBackAsync("ports", second, new JsonObject
        {
            ["ports"] = new JsonArray(
                new JsonObject { ["network_id"] = Id(n), ["name"] = first },
                new JsonObject { ["network_id"] = Id(n), ["name"] = second }),
        }, $"({PortAndAddressWritten.Replace("$name", "$first")}) and ({PortAndAddressWritten})".Replace("$first", $"'{first}'"));
        Assert.Equal(0, await api.Db.ScalarAsync<long>("select count(*) from ports where name = any($1)", (object)new[] { first, second }));
    }

    [Fact]
    public async Task A_failure_after_the_outbox_insert_leaves_no_router()
    {
        await AssertRolledBackAsync(c => c.PostAsync("/v2.0/routers", new JsonObject { ["router"] = new JsonObject { ["name"] = "r" } }));
    }

    [Fact]
    public async Task A_failure_after_the_outbox_insert_leaves_no_router_interface()
    {
        var (_, s) = await api.P1.CreateNetworkWithSubnetAsync();
        var r = await api.P1.CreateRouterAsync();
        await AssertRolledBackAsync(c => c.PutAsync($"/v2.0/routers/{Id(r)}/add_router_interface", new JsonObject { ["subnet_id"] = Id(s) }));
    }

    [Fact]
    public async Task A_failure_after_the_outbox_insert_leaves_the_tags_unchanged()
    {
        var n = await api.P1.CreateNetworkAsync();
        await AssertRolledBackAsync(c => c.PutAsync($"/v2.0/networks/{Id(n)}/tags/never"));
        Assert.Empty(Strings((await api.P1.ShowAsync("networks", Id(n), "network"))["tags"]));
    }
}
