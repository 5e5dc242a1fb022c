using System.Buffers.Binary;
using System.Net.Sockets;

namespace Relay.Tunnel.Links;

/// <summary>
/// Issue 21: what the kernel knows of a link's TCP path (Linux <c>TCP_INFO</c>): the smallest round trip it measured
/// (<c>tcpi_min_rtt</c>). Unlike a heartbeat's round trip it does not grow when the processes at either end are short
/// of CPU (a ping waits in their queues; the kernel's acknowledgements do not), so a busy machine on loopback stays
/// near. Null elsewhere: the heartbeat decides there.
/// </summary>
internal static class TcpPath
{
    private const int TcpInfoOption = 11; // TCP_INFO
    private const int MinRttOffset = 148; // struct tcp_info: __u32 tcpi_min_rtt (µs), Linux 4.6+

    /// <summary>The path's smallest round trip, or null when the kernel does not tell.</summary>
    public static TimeSpan? MinRtt(Socket? socket)
    {
        if (socket is null || !OperatingSystem.IsLinux())
        {
            return null;
        }

        Span<byte> info = stackalloc byte[256];
        try
        {
            int length = socket.GetRawSocketOption((int)SocketOptionLevel.Tcp, TcpInfoOption, info);
            if (length < MinRttOffset + 4)
            {
                return null;
            }

            uint minRttUs = BinaryPrimitives.ReadUInt32LittleEndian(info[MinRttOffset..]);
            return minRttUs is 0 or uint.MaxValue ? null : TimeSpan.FromMicroseconds(minRttUs);
        }
        catch (Exception ex) when (ex is SocketException or ObjectDisposedException or PlatformNotSupportedException)
        {
            return null;
        }
    }
}
