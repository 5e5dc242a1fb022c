using System.Net;
using System.Net.Sockets;

namespace Relay.Testing.Network;

/// <summary>HTTP clients whose connections come from a chosen loopback address (127.x.y.z), so a server sees that source address.</summary>
public static class LoopbackHttp
{
    /// <summary>An <see cref="HttpClient"/> that binds each connection's local end to <paramref name="source"/>.</summary>
    public static HttpClient From(IPAddress source, TimeSpan? timeout = null) => new(Handler(source)) { Timeout = timeout ?? TimeSpan.FromSeconds(10) };

    /// <summary>A handler that binds each connection's local end to <paramref name="source"/>.</summary>
    public static SocketsHttpHandler Handler(IPAddress source) => new()
    {
        PooledConnectionLifetime = TimeSpan.FromSeconds(30),
        ConnectCallback = async (context, ct) =>
        {
            var socket = new Socket(source.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            try
            {
                socket.Bind(new IPEndPoint(source, 0));
                await socket.ConnectAsync(context.DnsEndPoint, ct).ConfigureAwait(false);
                return new NetworkStream(socket, ownsSocket: true);
            }
            catch
            {
                socket.Dispose();
                throw;
            }
        },
    };
}
