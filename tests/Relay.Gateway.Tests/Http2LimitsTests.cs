using System.Buffers.Binary;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;

namespace Relay.Gateway.Tests;

/// <summary>
/// What an anonymous HTTP/2 client on the wss listener may make the relay hold. HTTP/2 flow control is the only cap on
/// request bytes a handler has not read yet (a websocket paced by its message rate, a forwarded request waiting for the
/// core): whatever the windows the relay advertises allow, Kestrel buffers in the heap. Over HTTP/1.1 that is
/// <c>MaxRequestBufferSize</c> (64 KiB); Kestrel's HTTP/2 defaults were 768 KiB a stream and 1 MiB a connection.
/// </summary>
[NonParallelizable]
public class Http2LimitsTests
{
    private const int SettingsFrame = 4, WindowUpdateFrame = 8, InitialWindowSizeSetting = 4, AckFlag = 1, DefaultWindow = 65_535;

    [Test]
    [CancelAfter(60_000)]
    public Task Http2Client_MayLeaveAtMost128KiB_UnreadPerConnection([Values] bool socketSessions, CancellationToken token) => TlsTests.WithTlsGatewayAsync(async (gw, _) =>
        {
            using var tcp = new TcpClient();
            await tcp.ConnectAsync(IPAddress.Loopback, new Uri(gw.WssUrl!).Port, token);
            await using var tls = new SslStream(tcp.GetStream(), false, (_, _, _, _) => true);
            await tls.AuthenticateAsClientAsync(new SslClientAuthenticationOptions { TargetHost = "localhost", ApplicationProtocols = [SslApplicationProtocol.Http2] }, token);
            Assert.That(tls.NegotiatedApplicationProtocol, Is.EqualTo(SslApplicationProtocol.Http2));

            // The client preface and an empty SETTINGS: the relay answers with its SETTINGS and, when it grants more than
            // the protocol's 65,535 bytes to the connection, a WINDOW_UPDATE on stream 0, before anything else.
            await tls.WriteAsync((byte[])[.. "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"u8, 0, 0, 0, SettingsFrame, 0, 0, 0, 0, 0], token);
            long streamWindow = DefaultWindow, connectionWindow = DefaultWindow;
            var header = new byte[9];
            bool acked = false;
            for (int frames = 0; frames < 8 && !acked; frames++) // bounded: its SETTINGS, a WINDOW_UPDATE, the ACK of ours
            {
                await tls.ReadExactlyAsync(header, token);
                int length = (header[0] << 16) | (header[1] << 8) | header[2];
                int type = header[3];
                uint stream = BinaryPrimitives.ReadUInt32BigEndian(header.AsSpan(5)) & 0x7FFF_FFFF;
                var payload = new byte[length];
                await tls.ReadExactlyAsync(payload, token);
                if (type == SettingsFrame && (header[4] & AckFlag) != 0)
                {
                    acked = true;
                }
                else if (type == SettingsFrame)
                {
                    for (int i = 0; i + 6 <= length; i += 6)
                    {
                        if (BinaryPrimitives.ReadUInt16BigEndian(payload.AsSpan(i)) == InitialWindowSizeSetting)
                        {
                            streamWindow = BinaryPrimitives.ReadUInt32BigEndian(payload.AsSpan(i + 2));
                        }
                    }
                }
                else if (type == WindowUpdateFrame && stream == 0)
                {
                    connectionWindow += BinaryPrimitives.ReadUInt32BigEndian(payload) & 0x7FFF_FFFF;
                }
            }

            Assert.That(connectionWindow, Is.LessThanOrEqualTo(128 * 1024), "request bytes a client may send on one connection before anything reads them");
            Assert.That(streamWindow, Is.LessThanOrEqualTo(128 * 1024), "and on one stream");
            Assert.That(streamWindow, Is.GreaterThan(64 * 1024), "a whole largest message (64 KiB and its frame header) fits one stream's window");
        },
        o => o.SocketSessions = socketSessions);
}
