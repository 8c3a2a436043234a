using Microsoft.AspNetCore.Hosting;
using OutboxSync.Testing;

namespace OutboxSync.Api.Tests.Errors;

/// <summary>The API logged in as a role that lacks one grant: the failure names the cause instead of posing as an
/// outage ("retry later" would send an operator chasing a healthy database), and nothing is half-written.</summary>
public sealed class MissingGrantTests(MissingGrantTests.Fixture api) : IClassFixture<MissingGrantTests.Fixture>
{
    public sealed class Fixture : ApiFactory
    {
        private DatabaseLogin? _login;

        public override async Task InitializeAsync()
        {
            await base.InitializeAsync();
            _login = await DatabaseLogin.CreateAsync(Database, DatabaseLogin.ApiRole);
            // Per database: the group role keeps its grants everywhere else in the cluster.
            await Db.ExecuteAsync("revoke insert on outbox_entries from outboxsync_api");
        }

        protected override void ConfigureWebHost(IWebHostBuilder builder)
        {
            base.ConfigureWebHost(builder);
            builder.UseSetting("Database:ConnectionString", _login!.ConnectionString);
        }

        public override async ValueTask DisposeAsync()
        {
            await base.DisposeAsync();
            if (_login is not null)
            {
                await _login.DisposeAsync();
            }
        }
    }

    [Fact]
    public async Task A_write_the_role_may_not_make_is_a_500_naming_the_missing_grant_and_leaves_nothing_behind()
    {
        var error = (await api.P1.PostAsync("/v2.0/networks", new JsonObject { ["network"] = new JsonObject { ["name"] = "no-grant" } }))
            .ExpectNeutronError(HttpStatusCode.InternalServerError);

        Assert.Contains("insufficient privilege", error["message"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Equal(0L, await api.Db.ScalarAsync<long>("select count(*) from networks where name = 'no-grant'"));
    }
}
