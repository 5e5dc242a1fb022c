using System.Net.Security;
using System.Net.WebSockets;
using Microsoft.AspNetCore.Connections;
using Relay.Gateway.Sessions;

namespace Relay.Gateway.Upgrade;

/// <summary>
/// A wss session's websocket straight over the connection's <see cref="SslStream"/> (issue 21), instead of over the
/// connection's pipes (Kestrel's stream-to-pipe adapters over that same SslStream, then <see cref="ConnectionStream"/>
/// back to a stream). Used only when nothing past the upgrade request was read through those pipes. Disposing it
/// while the websocket is not closed (an abort) aborts the connection, as <see cref="ConnectionStream"/> does.
/// </summary>
internal sealed class TlsSessionStream(ConnectionContext connection, SslStream tls) : AsyncDuplexStream
{
    /// <summary>The websocket over this stream, to tell a graceful dispose from an abort.</summary>
    public WebSocket? Socket { get; set; }

    public override ValueTask<int> ReadAsync(Memory<byte> destination, CancellationToken cancellationToken = default) =>
        tls.ReadAsync(destination, cancellationToken);

    public override ValueTask WriteAsync(ReadOnlyMemory<byte> source, CancellationToken cancellationToken = default) =>
        DropsPong(source) ? ValueTask.CompletedTask : tls.WriteAsync(source, cancellationToken);

    protected override void Dispose(bool disposing)
    {
        if (disposing && Socket is { State: not WebSocketState.Closed })
        {
            connection.Abort(new ConnectionAbortedException("The websocket was aborted."));
        }

        base.Dispose(disposing);
    }
}
