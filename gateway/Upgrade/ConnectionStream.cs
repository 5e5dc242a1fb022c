using System.Buffers;
using System.IO.Pipelines;
using System.Net.WebSockets;
using System.Runtime.CompilerServices;
using Microsoft.AspNetCore.Connections;
using Relay.Gateway.Sessions;

namespace Relay.Gateway.Upgrade;

/// <summary>
/// The upgraded connection's transport as a <see cref="Stream"/> for <see cref="WebSocket.CreateFromStream(Stream, WebSocketCreationOptions)"/>.
/// Zero-byte reads wait for data without taking a buffer (an idle session holds none). Disposing it while the
/// websocket is not closed (an abort) aborts the connection, as ASP.NET Core's upgrade stream does.
/// </summary>
internal sealed class ConnectionStream(ConnectionContext connection) : AsyncDuplexStream
{
    private readonly PipeReader _input = connection.Transport.Input;
    private readonly PipeWriter _output = connection.Transport.Output;

    /// <summary>The websocket over this stream, to tell a graceful dispose from an abort.</summary>
    public WebSocket? Socket { get; set; }

    // Pooled: every message starts with a read that waits, and a fresh box per wait was ~176 B of garbage per message.
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    public override async ValueTask<int> ReadAsync(Memory<byte> destination, CancellationToken cancellationToken = default)
    {
        var result = await _input.ReadAsync(cancellationToken).ConfigureAwait(false);
        var buffer = result.Buffer;
        if (result.IsCanceled)
        {
            _input.AdvanceTo(buffer.Start);
            throw new OperationCanceledException("The connection's read was cancelled (the websocket was aborted).");
        }

        if (destination.Length == 0 || buffer.IsEmpty)
        {
            // A zero-byte read only waits for data (or the end); nothing is consumed.
            _input.AdvanceTo(buffer.Start);
            return 0;
        }

        int count = (int)Math.Min(buffer.Length, destination.Length);
        var taken = buffer.Slice(0, count);
        taken.CopyTo(destination.Span);
        _input.AdvanceTo(taken.End);
        return count;
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    public override async ValueTask WriteAsync(ReadOnlyMemory<byte> source, CancellationToken cancellationToken = default)
    {
        if (DropsPong(source))
        {
            return;
        }

        var result = await _output.WriteAsync(source, cancellationToken).ConfigureAwait(false);
        if (result.IsCanceled)
        {
            throw new OperationCanceledException("The connection's write was cancelled (the websocket was aborted).");
        }

        if (result.IsCompleted)
        {
            throw new IOException("The connection is closed.");
        }
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing && Socket is { State: not WebSocketState.Closed })
        {
            // WebSocket.Abort (or a dispose before the close handshake): end pending reads and writes, drop the connection.
            _input.CancelPendingRead();
            _output.CancelPendingFlush();
            connection.Abort(new ConnectionAbortedException("The websocket was aborted."));
        }

        base.Dispose(disposing);
    }
}
