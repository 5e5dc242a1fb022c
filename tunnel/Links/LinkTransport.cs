using System.IO.Pipelines;
using System.Net;
using System.Net.Sockets;
using Pipelines.Sockets.Unofficial;

namespace Relay.Tunnel.Links;

/// <summary>Socket plumbing shared by the pool and the listener (Pipelines.Sockets.Unofficial).</summary>
internal static class LinkTransport
{
    /// <summary>Pipe options for a link: the read side pauses at 1 MiB (well above the largest frame).</summary>
    public static PipeOptions PipeOptions(LinkOptions options) => new(
        pauseWriterThreshold: Math.Max(1024 * 1024, options.MaxFrameSize * 2L),
        resumeWriterThreshold: Math.Max(512 * 1024, options.MaxFrameSize),
        minimumSegmentSize: 16 * 1024,
        readerScheduler: PipeScheduler.ThreadPool,
        writerScheduler: PipeScheduler.ThreadPool,
        useSynchronizationContext: false);

    public static async Task<SocketConnection> ConnectAsync(EndPoint endpoint, LinkOptions options, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var connect = SocketConnection.ConnectAsync(endpoint, PipeOptions(options), SocketConnectionOptions.None, name: endpoint.ToString());
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

    public static SocketConnection Accept(Socket socket, LinkOptions options)
    {
        SocketConnection.SetRecommendedServerOptions(socket);
        return SocketConnection.Create(socket, PipeOptions(options), SocketConnectionOptions.None, name: socket.RemoteEndPoint?.ToString());
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
