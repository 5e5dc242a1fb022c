using System.Net.Sockets;

namespace Relay.Gateway.Upgrade;

/// <summary>
/// Liveness of a session on its own socket (issue 21), from the kernel instead of websocket pings: TCP keepalive
/// probes once the connection has been idle for <see cref="Configuration.GatewayOptions.KeepAliveInterval"/>, three
/// probes over <see cref="Configuration.GatewayOptions.KeepAliveTimeout"/>, and on Linux <c>TCP_USER_TIMEOUT</c>
/// (interval + timeout) for data the client never acknowledges. A client that vanished (power, a cut path, no reset)
/// is gone about as soon as with the websocket's ping and pong timeout, and its session ends with 1006 and its resume
/// state kept; the relay holds no timer per session. The client's own heartbeat (docs/PROTOCOL.md, Liveness) is
/// unchanged: it is data, and any data counts.
/// </summary>
internal static class SocketLiveness
{
    private const int IpProtoTcp = 6;
    private const int TcpUserTimeout = 18; // linux/tcp.h

    /// <summary>The probes' timing for an interval and timeout: (idle before the first, between probes, probes).</summary>
    public static (int IdleSeconds, int IntervalSeconds, int Probes) Timing(TimeSpan interval, TimeSpan timeout) =>
        (Math.Max(1, (int)Math.Ceiling(interval.TotalSeconds)), Math.Max(1, (int)Math.Ceiling(timeout.TotalSeconds / 3)), 3);

    public static void Apply(Socket socket, TimeSpan interval, TimeSpan timeout)
    {
        var (idle, between, probes) = Timing(interval, timeout);
        socket.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.KeepAlive, true);
        socket.SetSocketOption(SocketOptionLevel.Tcp, SocketOptionName.TcpKeepAliveTime, idle);
        socket.SetSocketOption(SocketOptionLevel.Tcp, SocketOptionName.TcpKeepAliveInterval, between);
        socket.SetSocketOption(SocketOptionLevel.Tcp, SocketOptionName.TcpKeepAliveRetryCount, probes);
        if (OperatingSystem.IsLinux())
        {
            socket.SetRawSocketOption(IpProtoTcp, TcpUserTimeout, BitConverter.GetBytes((int)Math.Min(int.MaxValue, (interval + timeout).TotalMilliseconds)));
        }
    }
}
