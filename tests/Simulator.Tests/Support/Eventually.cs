using Microsoft.Extensions.Time.Testing;

namespace OutboxSync.Simulator.Tests.Support;

/// <summary>Polls a condition until it holds or a deadline passes; assertions never rest on a fixed sleep.</summary>
internal static class Eventually
{
    private static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(15);

    public static async Task HoldsAsync(Func<Task<bool>> condition, string what, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? DefaultTimeout);
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                Assert.Fail($"Timed out waiting until {what}.");
            }

            await Task.Delay(10);
        }
    }

    /// <summary>
    /// Advances a fake clock step by step until the calls finish. A call seen in flight may not have armed its
    /// delay timer yet, so one advance is not enough to be sure every delay has fired.
    /// </summary>
    public static async Task AdvanceUntilDoneAsync(FakeTimeProvider clock, TimeSpan step, params Task[] calls)
    {
        var all = Task.WhenAll(calls);
        var deadline = DateTime.UtcNow + DefaultTimeout;
        while (!all.IsCompleted)
        {
            if (DateTime.UtcNow > deadline)
            {
                Assert.Fail("Timed out advancing the fake clock until the calls finished.");
            }

            clock.Advance(step);
            await Task.WhenAny(all, Task.Delay(10));
        }
    }
}
