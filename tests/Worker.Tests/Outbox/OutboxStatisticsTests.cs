using Npgsql;
using OutboxSync.Outbox;
using OutboxSync.Worker.Tests.Support;

namespace OutboxSync.Worker.Tests.Outbox;

/// <summary>migrations/014 through <see cref="OutboxStatistics"/>: the planner's picture of the pending set is put
/// right when, and only when, it is far off.</summary>
public sealed class OutboxStatisticsTests : DatabaseBackedTests
{
    [Fact]
    public async Task A_burst_after_the_outbox_was_analysed_drained_is_analysed_once_and_then_planned_as_it_is()
    {
        await Scenario.AnalyseOutboxAsDrainedAsync();
        await AppendPendingAsync(3000);
        Assert.True(await PlannerEstimateAsync() < 100);

        var statistics = new OutboxStatistics(DataSource);
        var first = await statistics.RefreshAsync();
        var second = await statistics.RefreshAsync();

        Assert.Equal((3000L, true), (first.Pending, first.Analysed));
        Assert.True(first.Estimated < 100, $"estimate before: {first.Estimated}");
        Assert.InRange(await PlannerEstimateAsync(), 750, 12_000);
        Assert.False(second.Analysed);
    }

    [Fact]
    public async Task A_small_backlog_is_left_to_autoanalyze()
    {
        await Scenario.AnalyseOutboxAsDrainedAsync();
        await AppendPendingAsync(150);

        var check = await new OutboxStatistics(DataSource).RefreshAsync();

        Assert.Equal((150L, false), (check.Pending, check.Analysed));
        Assert.True(await PlannerEstimateAsync() < 100);
    }

    [Fact]
    public async Task Counting_stops_at_ten_thousand_pending_entries()
    {
        await AppendPendingAsync(10_500);

        Assert.Equal(10_000, (await new OutboxStatistics(DataSource).RefreshAsync()).Pending);
    }

    private async Task AppendPendingAsync(int count)
    {
        await using var append = DataSource.CreateCommand("""
            insert into outbox_entries (resource_type, resource_id, operation, revision, payload, project_id)
            select 'network', gen_random_uuid(), 'create', 1, '{}', 'p' from generate_series(1, @count)
            """);
        append.Parameters.AddWithValue("count", count);
        await append.ExecuteNonQueryAsync();
    }

    private async Task<long> PlannerEstimateAsync()
    {
        await using var explain = DataSource.CreateCommand("explain (format json) select 1 from outbox_entries where state = 'pending'");
        var plan = System.Text.Json.JsonDocument.Parse((string)(await explain.ExecuteScalarAsync())!);
        return (long)plan.RootElement[0].GetProperty("Plan").GetProperty("Plan Rows").GetDouble();
    }
}
