using Microsoft.Extensions.Options;
using OutboxSync.Worker.Retry;

namespace OutboxSync.Worker.Tests.Retry;

public sealed class RetryScheduleTests
{
    private static RetrySchedule Schedule(int maxAttempts = 8) => new(Options.Create(new RetryOptions
    {
        BaseDelay = TimeSpan.FromSeconds(1),
        MaxDelay = TimeSpan.FromSeconds(30),
        MaxAttempts = maxAttempts,
    }));

    [Fact]
    public void Delays_double_per_attempt_within_twenty_percent_jitter()
    {
        var schedule = Schedule();
        for (var attempt = 1; attempt <= 4; attempt++)
        {
            var nominal = Math.Pow(2, attempt - 1);
            Assert.InRange(schedule.DelayAfter(attempt).TotalSeconds, nominal * 0.8, nominal * 1.2);
        }
    }

    [Fact]
    public void Delays_never_exceed_the_cap()
    {
        var schedule = Schedule();
        Assert.All(Enumerable.Range(1, 100), a => Assert.True(schedule.DelayAfter(a) <= TimeSpan.FromSeconds(30)));
    }

    [Fact]
    public void The_entry_gives_up_at_max_attempts()
    {
        var schedule = Schedule(maxAttempts: 8);
        Assert.False(schedule.IsExhausted(7));
        Assert.True(schedule.IsExhausted(8));
    }
}
