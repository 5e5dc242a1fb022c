using System.IO.Pipelines;
using System.Net;
using System.Net.Sockets;
using Pipelines.Sockets.Unofficial;

namespace Relay.Tunnel.Links;

/// <summary>Socket plumbing shared by the pool and the listener (Pipelines.Sockets.Unofficial).</summary>
internal static class LinkTransport
{
    /// <summary>
    /// Socket completions continue on the thread that completed them (no second dispatch to the thread pool), for
    /// reads and writes alike.
    /// </summary>
    private const SocketConnectionOptions ConnectionOptions = SocketConnectionOptions.InlineReads | SocketConnectionOptions.InlineWrites;

    /// <summary>
    /// Pipe options for a link: the read side pauses at 1 MiB (well above the largest frame). Readers run inline: the
    /// link's read loop parses frames on the thread that received them, and the socket's send loop sends on the
    /// thread that flushed (the link's write loop, which batches every frame queued meanwhile into one flush). Each
    /// saves a thread-pool hop per frame in each direction; measured in bench/README.md ("Fewer hops on the links").
    /// </summary>
    public static PipeOptions PipeOptions(LinkOptions options) => new(
        pauseWriterThreshold: Math.Max(1024 * 1024, options.MaxFrameSize * 2L),
        resumeWriterThreshold: Math.Max(512 * 1024, options.MaxFrameSize),
        minimumSegmentSize: 16 * 1024,
        readerScheduler: PipeScheduler.Inline,
        writerScheduler: PipeScheduler.ThreadPool,
        useSynchronizationContext: false);

    public static async Task<SocketConnection> ConnectAsync(EndPoint endpoint, LinkOptions options, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var connect = SocketConnection.ConnectAsync(endpoint, PipeOptions(options), PipeOptions(options), ConnectionOptions, name: endpoint.ToString());
        try
        {
            return await connect.WaitAsync(timeout, options.TimeProvider, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception) when (!connect.IsCompleted)
        {
            _ = connect.ContinueWith(static t => t.Result.Dispose(), CancellationToken.None, TaskContinuationOptions.OnlyOnRanToCompletion, TaskScheduler.Default);
            throw;
        }
    }

    /// <summary>Closes a connection whose handshake failed: its socket, or both ends of an in-memory pipe.</summary>
    public static void Close(IDuplexPipe connection)
    {
        if (connection is IDisposable disposable)
        {
            disposable.Dispose();
            return;
        }

        connection.Input.Complete();
        connection.Output.Complete();
    }

    public static SocketConnection Accept(Socket socket, LinkOptions options)
    {
        SocketConnection.SetRecommendedServerOptions(socket);
        return SocketConnection.Create(socket, PipeOptions(options), PipeOptions(options), ConnectionOptions, name: socket.RemoteEndPoint?.ToString());
    }

    /// <summary>Parses "host:port" or "[v6]:port" into an endpoint; host names resolve at connect time.</summary>
    public static EndPoint ParseEndPoint(string value)
    {
        if (IPEndPoint.TryParse(value, out var ip) && ip.Port != 0)
        {
            return ip;
        }

        int colon = value.LastIndexOf(':');
        if (colon > 0 && int.TryParse(value.AsSpan(colon + 1), out int port) && port is > 0 and <= 65535)
        {
            return new DnsEndPoint(value[..colon], port);
        }

        throw new ArgumentException($"'{value}' is not a host:port endpoint.");
    }
}
