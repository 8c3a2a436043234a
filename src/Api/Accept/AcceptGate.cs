using Microsoft.Extensions.Options;

namespace OutboxSync.Api.Accept;

/// <summary>Bounds the accept transactions open at once (<see cref="ApiOptions.MaxConcurrentTransactions"/>).</summary>
public sealed class AcceptGate(IOptions<ApiOptions> options)
{
    private readonly SemaphoreSlim _slots = new(options.Value.MaxConcurrentTransactions, options.Value.MaxConcurrentTransactions);

    public Task WaitAsync(CancellationToken ct) => _slots.WaitAsync(ct);

    public void Release() => _slots.Release();
}
