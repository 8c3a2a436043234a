using Microsoft.Extensions.Time.Testing;
using Xunit;

namespace OutboxSync.Testing;

/// <summary>Waits for a condition with a deadline instead of sleeping a fixed time; assertions never rest on a sleep.</summary>
public static class Eventually
{
    private static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(15);

    public static async Task<T> WaitAsync<T>(Func<Task<T>> probe, Func<T, bool> done, TimeSpan timeout, string what)
    {
        var deadline = DateTime.UtcNow + timeout;
        var delay = TimeSpan.FromMilliseconds(20);
        while (true)
        {
            var value = await probe();
            if (done(value))
            {
                return value;
            }
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"Timed out after {timeout} waiting for {what}; last value: {value}");
            }
            await Task.Delay(delay);
            delay = TimeSpan.FromMilliseconds(Math.Min(delay.TotalMilliseconds * 2, 250));
        }
    }

    /// <summary>Polls <paramref name="condition"/> every 10 ms until it holds; fails naming <paramref name="what"/>
    /// after <paramref name="timeout"/> (15 s by default).</summary>
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
