using System.Diagnostics;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using OutboxSync.Worker.Tests.EndToEnd;
using OutboxSync.Worker.Tests.Support;

namespace OutboxSync.Worker.Tests.Observability;

/// <summary>
/// One trace from request to device: the API stores the request's trace context on the outbox entry, and the
/// worker's call to the real simulator carries a traceparent of the same trace (its own span, not the API's).
/// </summary>
[Collection(nameof(EndToEndCollection))]
public sealed class TraceLinkingTests : SimulatorBackedTests
{
    private ApiProcess _api = null!;
    private ServiceProcess _worker = null!;

    protected override async Task SetUpAsync()
    {
        await base.SetUpAsync();
        _api = await ApiProcess.StartAsync(Database.ConnectionString);
        _worker = await WorkerProcess.StartAsync(Database.ConnectionString, Simulator.BaseUrl, "trace-worker");
    }

    protected override async Task TearDownAsync()
    {
        await _worker.DisposeAsync();
        await _api.DisposeAsync();
        await base.TearDownAsync();
    }

    [Fact]
    public async Task The_device_call_continues_the_trace_of_the_api_request_that_queued_it()
    {
        var traceId = ActivityTraceId.CreateRandom().ToHexString();
        var clientSpan = ActivitySpanId.CreateRandom().ToHexString();
        var id = await _api.CreateAsync("networks", "network", new JsonObject { ["name"] = "traced" },
            request => request.Headers.Add("traceparent", $"00-{traceId}-{clientSpan}-01"));
        await _api.WaitForStatusAsync("networks", "network", id, "ACTIVE");

        await using var cmd = DataSource.CreateCommand("select trace_parent from outbox_entries where resource_id = @id order by seq limit 1");
        cmd.Parameters.AddWithValue("id", id);
        var stored = Parse((string?)await cmd.ExecuteScalarAsync() ?? "");
        Assert.Equal(traceId, stored.TraceId);
        Assert.NotEqual(clientSpan, stored.SpanId); // the API's server span, a child of the caller's

        var calls = (await Simulator.Admin.GetFromJsonAsync<JsonObject>($"_sim/calls?resource_id={id}"))!["items"]!.AsArray();
        var applied = Assert.Single(calls, c => c!["outcome"]!.GetValue<string>() == "applied");
        var device = Parse(applied!["traceparent"]?.GetValue<string>() ?? "");
        Assert.Equal(traceId, device.TraceId);
        Assert.NotEqual(stored.SpanId, device.SpanId); // the worker's own span in the same trace
        Assert.NotEqual(clientSpan, device.SpanId);
    }

    private static (string TraceId, string SpanId) Parse(string traceparent)
    {
        var parts = traceparent.Split('-');
        Assert.True(parts.Length == 4 && parts[1].Length == 32 && parts[2].Length == 16, $"not a W3C traceparent: '{traceparent}'");
        return (parts[1], parts[2]);
    }
}
