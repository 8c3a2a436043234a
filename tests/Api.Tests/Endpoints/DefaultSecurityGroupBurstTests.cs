using System.Collections.Concurrent;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using static OutboxSync.Api.Tests.Infrastructure.Neutron;

namespace OutboxSync.Api.Tests.Endpoints;

/// <summary>A project's first burst of port creates (Nova booting many VMs) on more than one API process.</summary>
public sealed class DefaultSecurityGroupBurstTests(DefaultSecurityGroupBurstTests.LoggedApiFactory api)
    : IClassFixture<DefaultSecurityGroupBurstTests.LoggedApiFactory>
{
    [Fact]
    public async Task A_first_burst_on_two_api_processes_makes_one_default_group_without_a_failed_insert()
    {
        await using var second = api.WithWebHostBuilder(_ => { });
        var clients = new[] { api.Extra(1), new ApiClient(second.CreateClient(), "extra-1-secret-token") };
        var (network, _) = await clients[0].CreateNetworkWithSubnetAsync("10.72.0.0/24");
        api.Problems.Clear();

        var ports = await Task.WhenAll(Enumerable.Range(0, 40).Select(i => clients[i % 2].CreatePortAsync(Id(network))));

        var groups = (await clients[0].GetAsync("/v2.0/security-groups?name=default")).Expect(HttpStatusCode.OK).Items("security_groups");
        var group = Id(Assert.Single(groups)!);
        Assert.All(ports, p => Assert.Equal([group], Strings(p["security_groups"])));
        // Each process made or found it once; no request lost a race on the one-default index (EF Core logs such
        // a failed insert at Error, with its stack, for every request of the burst).
        Assert.Empty(api.Problems);
    }

    /// <summary>The API with every log entry at Warning or above kept, from this host and any derived one.</summary>
    public sealed class LoggedApiFactory : ApiFactory
    {
        public ConcurrentQueue<string> Problems { get; } = new();

        protected override void ConfigureTestServices(IServiceCollection services) =>
            services.AddSingleton<ILoggerProvider>(new ProblemLog(Problems));
    }

    private sealed class ProblemLog(ConcurrentQueue<string> problems) : ILoggerProvider, ILogger
    {
        public ILogger CreateLogger(string categoryName) => this;

        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Warning;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (IsEnabled(logLevel))
            {
                problems.Enqueue($"{logLevel}: {formatter(state, exception)} {exception?.Message}");
            }
        }

        public void Dispose()
        {
        }
    }
}
