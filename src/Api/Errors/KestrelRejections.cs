using System.Buffers.Text;
using System.IO.Pipelines;
using System.Text;
using Microsoft.AspNetCore.Server.Kestrel.Core;

namespace OutboxSync.Api.Errors;

/// <summary>
/// Kestrel refuses some requests while parsing them, before any middleware runs (a NUL, <c>%00</c>, in the path, a
/// malformed request line, too long a URL or too many header bytes), and answers with a bodiless 4xx and
/// <c>Connection: close</c>. A connection middleware is the only place that sees those answers: it gives them
/// Neutron's error body. Everything else passes through untouched; the application's own 4xx answers always have a
/// body (<see cref="NeutronErrorMiddleware"/>, status code pages), so they never match.
/// </summary>
public static class KestrelRejections
{
    /// <summary>On every endpoint (plain HTTP/1.1; behind TLS it would see ciphertext, never match, and do nothing).</summary>
    public static void UseNeutronErrorShape(this KestrelServerOptions options) =>
        options.ConfigureEndpointDefaults(listen => listen.Use(next => connection =>
        {
            connection.Transport = new Pipe(connection.Transport);
            return next(connection);
        }));

    /// <summary>The Neutron body for a refusal with this status, or null to leave the response alone.</summary>
    internal static byte[]? Rewrite(ReadOnlySpan<byte> written)
    {
        // Kestrel writes the refusal's whole header block in one piece and nothing after it.
        if (!written.StartsWith("HTTP/1.1 4"u8) || written.Length < 16 || written.IndexOf("\r\n\r\n"u8) != written.Length - 4
            || written.IndexOf("\r\nContent-Length: 0\r\n"u8) < 0 || written.IndexOf("\r\nConnection: close\r\n"u8) < 0
            || !Utf8Parser.TryParse(written[9..12], out int status, out var consumed) || consumed != 3)
        {
            return null;
        }
        var (type, message) = status switch
        {
            408 => ("HTTPRequestTimeout", "The request headers were not received in time."),
            413 => ("HTTPRequestEntityTooLarge", "Request too large."),
            414 => ("HTTPRequestURITooLong", "Request URI too long."),
            431 => ("HTTPRequestHeaderFieldsTooLarge", "Request header fields too large."),
            _ => ("HTTPBadRequest", "Malformed request: the request line or headers cannot be parsed (a NUL character in the path, for example)."),
        };
        var body = Encoding.UTF8.GetBytes(NeutronErrorBody.Create(type, message).ToJsonString());
        var at = written.IndexOf("\r\nContent-Length: 0\r\n"u8) + 2;
        var header = Encoding.ASCII.GetBytes($"Content-Type: application/json\r\nContent-Length: {body.Length}\r\n");
        return [.. written[..at], .. header, .. written[(at + "Content-Length: 0\r\n"u8.Length)..], .. body];
    }

    private sealed class Pipe(IDuplexPipe inner) : IDuplexPipe
    {
        public PipeReader Input => inner.Input;

        public PipeWriter Output { get; } = new Writer(inner.Output);
    }

    /// <summary>Passes every write through, except a refusal, which is replaced before it reaches the socket.</summary>
    private sealed class Writer(PipeWriter inner) : PipeWriter
    {
        /// <summary>Room asked of each buffer, so that a refusal's header block (about 150 bytes) is never split.</summary>
        private const int MinimumBuffer = 512;

        private Memory<byte> _buffer;

        public override Memory<byte> GetMemory(int sizeHint = 0) => _buffer = inner.GetMemory(Math.Max(sizeHint, MinimumBuffer));

        public override Span<byte> GetSpan(int sizeHint = 0) => GetMemory(sizeHint).Span;

        public override void Advance(int bytes)
        {
            if (bytes > 0 && bytes <= _buffer.Length && Rewrite(_buffer.Span[..bytes]) is { } replacement)
            {
                // Nothing of the refusal was committed yet: write the replacement instead.
                replacement.CopyTo(inner.GetSpan(replacement.Length));
                inner.Advance(replacement.Length);
            }
            else
            {
                inner.Advance(bytes);
            }
            _buffer = default;
        }

        public override ValueTask<FlushResult> FlushAsync(CancellationToken cancellationToken = default) => inner.FlushAsync(cancellationToken);

        public override void CancelPendingFlush() => inner.CancelPendingFlush();

        public override void Complete(Exception? exception = null) => inner.Complete(exception);

        public override ValueTask CompleteAsync(Exception? exception = null) => inner.CompleteAsync(exception);

        public override bool CanGetUnflushedBytes => inner.CanGetUnflushedBytes;

        public override long UnflushedBytes => inner.UnflushedBytes;
    }
}
