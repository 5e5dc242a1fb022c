using System.Buffers;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using Relay.Gateway.Sessions;

namespace Relay.Gateway.Upgrade;

/// <summary>
/// A session's own socket as the <see cref="Stream"/> under its websocket (issue 21: sessions on the plain listener are
/// not Kestrel connections, <see cref="SocketUpgrade"/>). Hand-written rather than <see cref="NetworkStream"/> for two
/// measured reasons: the websocket reads a frame header (at most 14 bytes) and then its payload, two receive system
/// calls per small message on a bare socket; this stream receives once into a pooled 4 KiB buffer and serves both
/// from it, and gives the buffer back as soon as it is drained, so an idle session holds none. A zero-byte read waits
/// for data without a buffer and without a frame of its own (the socket's own awaitable). Sends go straight to the
/// socket from the caller's thread, tried at once on the non-blocking socket: no output pipe, no send loop to wake,
/// and no send awaitable kept unless a send would block.
/// </summary>
internal sealed class SocketStream : AsyncDuplexStream
{
    private const int ReceiveBufferSize = 4096;

    private readonly Socket _socket;

    private byte[]? _buffer;
    private int _offset;
    private int _count;
    private int _disposed;

    public SocketStream(Socket socket)
    {
        _socket = socket;
        // Non-blocking: a send or a receive is tried once at once, and only what would block goes through the socket's
        // async machinery. Most sends complete at once; the socket then never makes its send awaitable (≈ 360 B kept
        // per session once made, issue 21).
        socket.Blocking = false;
    }

    public override ValueTask<int> ReadAsync(Memory<byte> destination, CancellationToken cancellationToken = default)
    {
        if (_count > 0)
        {
            return new ValueTask<int>(destination.IsEmpty ? 0 : TakeBuffered(destination.Span));
        }

        if (destination.IsEmpty)
        {
            // Waits for data (or the end) without taking a buffer: the socket's own cached awaitable, no frame here.
            return _socket.ReceiveAsync(destination, SocketFlags.None, cancellationToken);
        }

        if (destination.Length >= ReceiveBufferSize)
        {
            return _socket.ReceiveAsync(destination, SocketFlags.None, cancellationToken); // large: straight in
        }

        return ReceiveBufferedAsync(destination, cancellationToken);
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<int> ReceiveBufferedAsync(Memory<byte> destination, CancellationToken cancellationToken)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(ReceiveBufferSize);
        int received;
        try
        {
            // Usually the data is there (a zero-byte read said so): one receive now, no async operation.
            received = _socket.Receive(buffer, SocketFlags.None, out var error);
            if (error == SocketError.WouldBlock)
            {
                received = await _socket.ReceiveAsync(buffer, SocketFlags.None, cancellationToken).ConfigureAwait(false);
            }
            else if (error != SocketError.Success)
            {
                throw new SocketException((int)error);
            }
        }
        catch
        {
            ArrayPool<byte>.Shared.Return(buffer);
            throw;
        }

        if (received == 0)
        {
            ArrayPool<byte>.Shared.Return(buffer);
            return 0;
        }

        _buffer = buffer;
        _offset = 0;
        _count = received;
        return TakeBuffered(destination.Span);
    }

    private int TakeBuffered(Span<byte> destination)
    {
        int count = Math.Min(_count, destination.Length);
        _buffer.AsSpan(_offset, count).CopyTo(destination);
        _offset += count;
        _count -= count;
        if (_count == 0)
        {
            ArrayPool<byte>.Shared.Return(_buffer!);
            _buffer = null; // drained: an idle session holds no buffer
        }

        return count;
    }

    public override ValueTask WriteAsync(ReadOnlyMemory<byte> source, CancellationToken cancellationToken = default)
    {
        if (DropsPong(source))
        {
            return ValueTask.CompletedTask;
        }

        int sent = _socket.Send(source.Span, SocketFlags.None, out var error);
        if (error == SocketError.Success && sent == source.Length)
        {
            return ValueTask.CompletedTask;
        }

        if (error is not (SocketError.Success or SocketError.WouldBlock))
        {
            return ValueTask.FromException(new SocketException((int)error));
        }

        // The kernel's send buffer is full (a slow reader): the rest when it drains. A stream socket's async send
        // completes once every byte is with the kernel.
        return AwaitSendAsync(_socket.SendAsync(source[Math.Max(sent, 0)..], SocketFlags.None, cancellationToken));
    }

    /// <summary>
    /// Blocking, only as a fallback: a TLS connection handed to Kestrel (<see cref="DecryptedConnection"/>) writes through
    /// a pipe writer over its <see cref="System.Net.Security.SslStream"/>, whose completion flushes what is left
    /// synchronously. Everything else writes asynchronously.
    /// </summary>
    public override void Write(byte[] buffer, int offset, int count) => WriteAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();

    // Socket errors reach the websocket as they are: it reports any failure of its stream as a WebSocketException.
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    private static async ValueTask AwaitSendAsync(ValueTask<int> sending) => await sending.ConfigureAwait(false);

    protected override void Dispose(bool disposing)
    {
        if (disposing && Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            // Closing the socket ends a pending receive or send (the websocket's abort, or the session's end). A
            // buffer still held is left to the GC: a read may be copying from it on another thread right now.
            _socket.Dispose();
        }

        base.Dispose(disposing);
    }
}
