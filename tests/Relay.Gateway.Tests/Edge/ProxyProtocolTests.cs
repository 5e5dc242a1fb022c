using Relay.Testing;
using System.Buffers;
using System.Buffers.Binary;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Text;
using CsCheck;
using Relay.Gateway.Edge;

namespace Relay.Gateway.Tests.Edge;

/// <summary>
/// Issue 16 item 7: PROXY protocol v2 from trusted proxies (the parser, fuzzed; and on a real gateway, the address a
/// session is counted and recorded under), and X-Forwarded-For only from trusted proxies.
/// </summary>
public class ProxyProtocolTests
{
    private static readonly byte[] s_signature = [0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A];

    /// <summary>A PROXY v2 header (command PROXY, TCP) from <paramref name="source"/>, with optional TLV bytes.</summary>
    internal static byte[] V2(IPEndPoint source, byte[]? tlvs = null, byte command = 1)
    {
        bool v6 = source.AddressFamily == AddressFamily.InterNetworkV6;
        int addressLength = v6 ? 36 : 12;
        tlvs ??= [];
        var header = new byte[16 + addressLength + tlvs.Length];
        s_signature.CopyTo(header, 0);
        header[12] = (byte)(0x20 | command);
        header[13] = (byte)((v6 ? 0x20 : 0x10) | 0x01);
        BinaryPrimitives.WriteUInt16BigEndian(header.AsSpan(14), (ushort)(addressLength + tlvs.Length));
        int size = v6 ? 16 : 4;
        source.Address.TryWriteBytes(header.AsSpan(16), out _);
        (v6 ? IPAddress.IPv6Loopback : IPAddress.Loopback).TryWriteBytes(header.AsSpan(16 + size), out _);
        BinaryPrimitives.WriteUInt16BigEndian(header.AsSpan(16 + 2 * size), (ushort)source.Port);
        BinaryPrimitives.WriteUInt16BigEndian(header.AsSpan(18 + 2 * size), 8080);
        tlvs.CopyTo(header, 16 + addressLength);
        return header;
    }

    internal static byte[] Local() => [.. s_signature, 0x20, 0x00, 0x00, 0x00];

    [Test]
    public void Parser_Inet_ReadsTheSourceAndTheHeaderLength_AndLeavesWhatFollows()
    {
        byte[] header = V2(new IPEndPoint(IPAddress.Parse("203.0.113.7"), 40000), tlvs: [0x04, 0x00, 0x02, 0xAA, 0xBB]);
        byte[] input = [.. header, .. "GET / HTTP/1.1\r\n"u8];
        Assert.That(ProxyHeader.Parse(new ReadOnlySequence<byte>(input), out var source, out int length), Is.EqualTo(ProxyParse.Proxy));
        Assert.That((source!.ToString(), length), Is.EqualTo(("203.0.113.7:40000", header.Length)), "TLVs are skipped");
    }

    [Test]
    public void Parser_Inet6_AndIpv4Mapped()
    {
        Assert.That(ProxyHeader.Parse(new ReadOnlySequence<byte>(V2(new IPEndPoint(IPAddress.Parse("2001:db8::7"), 5))), out var source, out _), Is.EqualTo(ProxyParse.Proxy));
        Assert.That(source!.ToString(), Is.EqualTo("[2001:db8::7]:5"));
        Assert.That(ProxyHeader.Parse(new ReadOnlySequence<byte>(V2(new IPEndPoint(IPAddress.Parse("::ffff:198.51.100.9"), 6))), out source, out _), Is.EqualTo(ProxyParse.Proxy));
        Assert.That(source!.Address, Is.EqualTo(IPAddress.Parse("198.51.100.9")), "an IPv4-mapped source counts as its IPv4 address");
    }

    [Test]
    public void Parser_Local_IsAcceptedWithoutAnAddress()
    {
        Assert.That(ProxyHeader.Parse(new ReadOnlySequence<byte>(Local()), out var source, out int length), Is.EqualTo(ProxyParse.Local));
        Assert.That((source, length), Is.EqualTo(((IPEndPoint?)null, 16)));
    }

    [Test]
    public void Parser_EveryPrefix_IsIncomplete_AndEverySplit_ParsesTheSame()
    {
        byte[] header = V2(new IPEndPoint(IPAddress.Parse("192.0.2.1"), 1234), tlvs: [0x01, 0x00, 0x01, 0x68]);
        for (int n = 0; n < header.Length; n++)
        {
            Assert.That(ProxyHeader.Parse(new ReadOnlySequence<byte>(header, 0, n), out _, out _), Is.EqualTo(ProxyParse.Incomplete), $"prefix of {n}");
        }

        for (int split = 1; split < header.Length; split++)
        {
            Assert.That(ProxyHeader.Parse(Sequences.TwoSegments(header, split), out var source, out int length), Is.EqualTo(ProxyParse.Proxy), $"split at {split}");
            Assert.That((source!.ToString(), length), Is.EqualTo(("192.0.2.1:1234", header.Length)));
        }
    }

    [TestCase(12, 0x10, "version 1")]
    [TestCase(12, 0x22, "command 2")]
    [TestCase(13, 0x12, "datagram")]
    [TestCase(13, 0x31, "unix socket")]
    [TestCase(13, 0x00, "unspecified family with PROXY")]
    [TestCase(0, 0x0C, "signature")]
    [TestCase(11, 0x0B, "signature end")]
    public void Parser_RejectsAnythingButAV2TcpHeader(int offset, byte value, string what)
    {
        byte[] header = V2(new IPEndPoint(IPAddress.Parse("192.0.2.1"), 1));
        header[offset] = value;
        Assert.That(ProxyHeader.Parse(new ReadOnlySequence<byte>(header), out _, out _), Is.EqualTo(ProxyParse.Invalid), what);
    }

    [Test]
    public void Parser_RejectsV1Text_ShortAddressBlocks_AndHeadersBeyondTheCap()
    {
        Assert.That(ProxyHeader.Parse(new ReadOnlySequence<byte>("PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r\n"u8.ToArray()), out _, out _), Is.EqualTo(ProxyParse.Invalid));
        byte[] header = V2(new IPEndPoint(IPAddress.Parse("192.0.2.1"), 1));
        BinaryPrimitives.WriteUInt16BigEndian(header.AsSpan(14), 11);
        Assert.That(ProxyHeader.Parse(new ReadOnlySequence<byte>(header), out _, out _), Is.EqualTo(ProxyParse.Invalid), "an IPv4 block is 12 bytes");
        BinaryPrimitives.WriteUInt16BigEndian(header.AsSpan(14), ProxyHeader.MaxLength - 16 + 1);
        Assert.That(ProxyHeader.Parse(new ReadOnlySequence<byte>(header, 0, 16), out _, out _), Is.EqualTo(ProxyParse.Invalid), "longer than 16 + 536 bytes: refused before it is read");
    }

    [Test]
    public void Parser_Fuzz_NeverThrows_NeverReadsBeyondItsCap_AndValidHeadersRoundTrip()
    {
        // Random bytes, with the signature in front half of the time.
        Gen.Select(Gen.Byte.Array[0, 700], Gen.Bool).Sample((bytes, signed) =>
        {
            byte[] input = signed ? [.. s_signature, .. bytes] : bytes;
            var outcome = ProxyHeader.Parse(new ReadOnlySequence<byte>(input), out var source, out int length);
            return outcome switch
            {
                ProxyParse.Proxy => source is not null && length is >= 28 and <= ProxyHeader.MaxLength && length <= input.Length,
                ProxyParse.Local => length is >= 16 and <= ProxyHeader.MaxLength,
                _ => true,
            };
        });

        // Valid headers with random sources and TLV bytes round trip.
        Gen.Select(Gen.UInt, Gen.Int[0, 65535], Gen.Byte.Array[0, 500]).Sample((ip, port, tlvs) =>
        {
            var endpoint = new IPEndPoint(new IPAddress(ip), port);
            byte[] header = V2(endpoint, tlvs);
            return ProxyHeader.Parse(new ReadOnlySequence<byte>(header), out var source, out int length) == ProxyParse.Proxy
                && source!.Equals(endpoint) && length == header.Length;
        });

        // A valid header with a few bytes changed never throws and never claims more than it has.
        byte[] valid = V2(new IPEndPoint(IPAddress.Parse("192.0.2.44"), 999), [0x04, 0x00, 0x01, 0x00]);
        Gen.Select(Gen.Int[0, valid.Length - 1], Gen.Byte, Gen.Int[0, valid.Length - 1], Gen.Byte).Sample((i, a, j, b) =>
        {
            byte[] input = (byte[])valid.Clone();
            input[i] = a;
            input[j] = b;
            var outcome = ProxyHeader.Parse(new ReadOnlySequence<byte>(input), out _, out int length);
            return outcome is not (ProxyParse.Proxy or ProxyParse.Local) || length <= input.Length;
        });
    }

    [Test]
    [CancelAfter(30_000)]
    public async Task TrustedProxy_SessionsAreCountedAndRecordedUnderTheHeadersAddress(CancellationToken token)
    {
        await using var gw = await GatewayFixture.StartAsync(o => { o.TrustedProxies = ["127.0.0.2"]; o.MaxSessionsPerIp = 1; });
        int port = RawClient.Port(gw.HttpUrl);
        var proxy = IPAddress.Parse("127.0.0.2");
        using var first = await RawClient.ConnectAsync(proxy, port, token);
        Assert.That(await RawClient.RequestAsync(first, V2(new IPEndPoint(IPAddress.Parse("203.0.113.7"), 40001)), RawClient.Upgrade(GatewayFixture.Token("a")), token), Does.StartWith("HTTP/1.1 101"));
        using var sameUser = await RawClient.ConnectAsync(proxy, port, token);
        Assert.That(await RawClient.RequestAsync(sameUser, V2(new IPEndPoint(IPAddress.Parse("203.0.113.7"), 40002)), RawClient.Upgrade(GatewayFixture.Token("b")), token), Does.StartWith("HTTP/1.1 429"), "the per-address limit counts the client behind the proxy");
        using var otherUser = await RawClient.ConnectAsync(proxy, port, token);
        Assert.That(await RawClient.RequestAsync(otherUser, V2(new IPEndPoint(IPAddress.Parse("203.0.113.8"), 40003)), RawClient.Upgrade(GatewayFixture.Token("c")), token), Does.StartWith("HTTP/1.1 101"), "another client behind the same proxy is not");

        for (int i = 0; i < 100 && gw.CoreStreams.Count < 2; i++)
        {
            await Task.Delay(50, token);
        }

        lock (gw.CoreStreams)
        {
            Assert.That(gw.CoreStreams.Select(s => s.Info.ClientAddress), Is.EquivalentTo(new[] { "203.0.113.7:40001", "203.0.113.8:40003" }), "the core is told the client's address");
        }
    }

    [Test]
    [CancelAfter(30_000)]
    public async Task TrustedProxy_WithoutAHeader_IsClosed_UntrustedPeer_HeaderIsNotParsed(CancellationToken token)
    {
        await using var gw = await GatewayFixture.StartAsync(o => o.TrustedProxies = ["127.0.0.2/32"]);
        int port = RawClient.Port(gw.HttpUrl);
        using var noHeader = await RawClient.ConnectAsync(IPAddress.Parse("127.0.0.2"), port, token);
        Assert.That(await RawClient.RequestAsync(noHeader, [], RawClient.Upgrade(GatewayFixture.Token()), token), Is.Empty, "closed without an answer");

        using var untrusted = await RawClient.ConnectAsync(IPAddress.Parse("127.0.0.3"), port, token);
        Assert.That(await RawClient.RequestAsync(untrusted, V2(new IPEndPoint(IPAddress.Parse("203.0.113.7"), 1)), RawClient.Upgrade(GatewayFixture.Token()), token), Does.StartWith("HTTP/1.1 400"), "plain HTTP that fails as such");
    }

    [Test]
    [CancelAfter(30_000)]
    public async Task XForwardedFor_IsHonouredFromTrustedProxiesOnly(CancellationToken token)
    {
        await using var gw = await GatewayFixture.StartAsync(o => { o.TrustedProxies = ["127.0.0.2"]; o.MaxSessionsPerIp = 1; });
        int port = RawClient.Port(gw.HttpUrl);
        var sockets = new List<Socket>();
        async Task<string> UpgradeAsync(string from, byte[] prefix, string forwardedFor)
        {
            var socket = await RawClient.ConnectAsync(IPAddress.Parse(from), port, token);
            sockets.Add(socket);
            return await RawClient.RequestAsync(socket, prefix, RawClient.Upgrade(GatewayFixture.Token(), $"X-Forwarded-For: {forwardedFor}\r\n"), token);
        }

        try
        {
            // A trusted proxy (its PROXY header says LOCAL: its own connection) forwarding for two clients.
            Assert.That(await UpgradeAsync("127.0.0.2", Local(), "198.51.100.1"), Does.StartWith("HTTP/1.1 101"));
            Assert.That(await UpgradeAsync("127.0.0.2", Local(), "198.51.100.1"), Does.StartWith("HTTP/1.1 429"));
            Assert.That(await UpgradeAsync("127.0.0.2", Local(), "198.51.100.2"), Does.StartWith("HTTP/1.1 101"));

            // Anyone else's X-Forwarded-For is ignored: both count as 127.0.0.3.
            Assert.That(await UpgradeAsync("127.0.0.3", [], "198.51.100.3"), Does.StartWith("HTTP/1.1 101"));
            Assert.That(await UpgradeAsync("127.0.0.3", [], "198.51.100.4"), Does.StartWith("HTTP/1.1 429"));
        }
        finally
        {
            RawClient.DisposeAll(sockets);
        }
    }

    [Test]
    [CancelAfter(30_000)]
    public async Task TrustedProxy_OverTls_HeaderComesBeforeTheHandshake(CancellationToken token)
    {
        string dir = TempFolders.Create("relay-tls-");
        try
        {
            var (certPath, keyPath) = TlsTests.WriteSelfSigned(dir);
            await using var gw = await GatewayFixture.StartAsync(o => { o.CertificateKeyPath = keyPath; o.TrustedProxies = ["127.0.0.2"]; }, certificatePath: certPath);
            using var socket = await RawClient.ConnectAsync(IPAddress.Parse("127.0.0.2"), new Uri(gw.WssUrl!).Port, token);
            await socket.SendAsync(V2(new IPEndPoint(IPAddress.Parse("203.0.113.9"), 4443)), SocketFlags.None, token);
            await using var tls = new SslStream(new NetworkStream(socket), false, (_, _, _, _) => true);
            await tls.AuthenticateAsClientAsync(new SslClientAuthenticationOptions { TargetHost = "localhost" }, token);
            await tls.WriteAsync(Encoding.ASCII.GetBytes(RawClient.Upgrade(GatewayFixture.Token())), token);
            var response = new byte[12];
            await tls.ReadExactlyAsync(response, token);
            Assert.That(Encoding.ASCII.GetString(response), Is.EqualTo("HTTP/1.1 101"));
            for (int i = 0; i < 100 && gw.CoreStreams.Count == 0; i++)
            {
                await Task.Delay(50, token);
            }

            lock (gw.CoreStreams)
            {
                Assert.That(gw.CoreStreams.Single().Info.ClientAddress, Is.EqualTo("203.0.113.9:4443"));
            }
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
