using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Threading.Channels;

namespace OutboxSync.Chaos.Tests.Partition;

/// <summary>
/// A TCP forwarder on the database's path that can hold back, per client address, what the client sends by a fixed
/// delay, in order: a one-way delay "to the database". It stands in for <c>tc netem delay</c> on kernels built
/// without netem (the run says which it used). Replies pass at once.
/// </summary>
public sealed class DelayingProxy : IAsyncDisposable
{
    private readonly TcpListener _listener;
    private readonly IPEndPoint _target;
    private readonly ConcurrentDictionary<string, TimeSpan> _delays = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _accepting;

    public DelayingProxy(string address, int port, IPEndPoint target)
    {
        _target = target;
        _listener = new TcpListener(IPAddress.Parse(address), port);
        _listener.Start();
        Port = port;
        _accepting = AcceptAsync();
    }

    public int Port { get; }

    /// <summary>Delays what <paramref name="clientAddress"/> sends from now on (zero: none).</summary>
    public void Delay(string clientAddress, TimeSpan delay) => _delays[clientAddress] = delay;

    private async Task AcceptAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            TcpClient client;
            try
            {
                client = await _listener.AcceptTcpClientAsync(_stop.Token);
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException)
            {
                return;
            }
            _ = Task.Run(() => ForwardAsync(client));
        }
    }

    private async Task ForwardAsync(TcpClient client)
    {
        using var _ = client;
        using var server = new TcpClient();
        client.NoDelay = true;
        server.NoDelay = true;
        try
        {
            await server.ConnectAsync(_target, _stop.Token);
            var source = ((IPEndPoint)client.Client.RemoteEndPoint!).Address.ToString();
            using var done = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token);
            var up = PumpAsync(client.GetStream(), server.GetStream(), () => _delays.GetValueOrDefault(source), done.Token);
            var down = PumpAsync(server.GetStream(), client.GetStream(), () => TimeSpan.Zero, done.Token);
            await Task.WhenAny(up, down);
            await done.CancelAsync();
        }
        catch (Exception e) when (e is IOException or SocketException or OperationCanceledException or ObjectDisposedException)
        {
            // Either side closed or was cut; the other side sees its connection end, as with a real link.
        }
    }

    private static async Task PumpAsync(NetworkStream from, NetworkStream to, Func<TimeSpan> delay, CancellationToken ct)
    {
        var chunks = Channel.CreateUnbounded<(long Due, byte[] Data)>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });
        var writer = Task.Run(async () =>
        {
            await foreach (var (due, data) in chunks.Reader.ReadAllAsync(ct))
            {
                var wait = Stopwatch.GetElapsedTime(Stopwatch.GetTimestamp(), due);
                if (wait > TimeSpan.Zero)
                {
                    await Task.Delay(wait, ct);
                }
                await to.WriteAsync(data, ct);
            }
        }, ct);
        try
        {
            var buffer = new byte[64 * 1024];
            while (true)
            {
                var read = await from.ReadAsync(buffer, ct);
                if (read == 0)
                {
                    break;
                }
                var due = Stopwatch.GetTimestamp() + (long)(delay().TotalSeconds * Stopwatch.Frequency);
                await chunks.Writer.WriteAsync((due, buffer[..read]), ct);
            }
        }
        finally
        {
            chunks.Writer.TryComplete();
            try
            {
                await writer;
            }
            catch (Exception e) when (e is IOException or SocketException or OperationCanceledException or ObjectDisposedException)
            {
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        await _accepting;
        _stop.Dispose();
    }
}
