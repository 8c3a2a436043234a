using System.Threading.Channels;

namespace OutboxSync.Worker.Drain;

/// <summary>
/// Wakes the drain loop early: a NOTIFY arrived, or a resource finished (a slot is free, or dependents may now
/// be unblocked). Wake-ups coalesce; a missed one only costs a poll interval.
/// </summary>
public sealed class DrainSignals(TimeProvider time)
{
    private readonly Channel<bool> _wake = Channel.CreateBounded<bool>(new BoundedChannelOptions(1)
    {
        FullMode = BoundedChannelFullMode.DropWrite,
    });

    public void Wake() => _wake.Writer.TryWrite(true);

    /// <summary>Waits for a wake-up or <paramref name="timeout"/>; returns true when woken.</summary>
    public async Task<bool> WaitAsync(TimeSpan timeout, CancellationToken ct)
    {
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(ct);
        cts.CancelAfter(timeout);
        try
        {
            await _wake.Reader.ReadAsync(cts.Token);
            return true;
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            return false;
        }
    }

    internal TimeProvider Time => time;
}
