using System.Net;
using Relay.WireGuard.Config;
using Relay.WireGuard.Devices;
using Relay.WireGuard.Keys;
using Relay.WireGuard.Uapi;

namespace Relay.WireGuard.Tests.Uapi;

public class UapiProtocolTests
{
    [Test]
    public void ParseGet_CannedWireGuardGoAnswer_ReadsPeersAndCounters()
    {
        var device = WireGuardKeyPair.Generate();
        var peerA = WireGuardKeyPair.Generate().PublicKey;
        var peerB = WireGuardKeyPair.Generate().PublicKey;
        string answer = $"""
            private_key={device.PrivateKey.ToHex()}
            listen_port=51820
            public_key={peerA.ToHex()}
            preshared_key=0000000000000000000000000000000000000000000000000000000000000000
            protocol_version=1
            endpoint=192.0.2.7:51820
            last_handshake_time_sec=1700000000
            last_handshake_time_nsec=500000000
            tx_bytes=1234
            rx_bytes=5678
            persistent_keepalive_interval=25
            allowed_ip=10.9.0.1/32
            allowed_ip=fd00::1/128
            public_key={peerB.ToHex()}
            protocol_version=1
            last_handshake_time_sec=0
            last_handshake_time_nsec=0
            tx_bytes=0
            rx_bytes=0
            persistent_keepalive_interval=0
            some_future_key=whatever
            errno=0


            """.Replace("\r", "", StringComparison.Ordinal);
        var state = UapiProtocol.ParseGet("wg0", answer, out int errno);
        Assert.That(errno, Is.Zero);
        Assert.That(state.PublicKey, Is.EqualTo(device.PublicKey), "the device's public key is derived from its private key");
        Assert.That(state.ListenPort, Is.EqualTo(51820));
        Assert.That(state.Peers, Has.Count.EqualTo(2));
        var a = state.Peers[0];
        Assert.That(a.PublicKey, Is.EqualTo(peerA));
        Assert.That(a.Endpoint, Is.EqualTo("192.0.2.7:51820"));
        Assert.That(a.LastHandshake, Is.EqualTo(DateTimeOffset.FromUnixTimeSeconds(1700000000).AddMilliseconds(500)));
        Assert.That((a.TxBytes, a.RxBytes, a.PersistentKeepalive), Is.EqualTo((1234L, 5678L, 25)));
        Assert.That(a.AllowedIps, Is.EqualTo(new[] { "10.9.0.1/32", "fd00::1/128" }));
        Assert.That(state.Peers[1].LastHandshake, Is.Null);
        Assert.That(state.Peers[1].Endpoint, Is.Null);
    }

    [Test]
    public void ParseGet_ErrnoOnly_ReturnsErrno()
    {
        UapiProtocol.ParseGet("wg0", "errno=-22\n\n", out int errno);
        Assert.That(errno, Is.EqualTo(-22));
    }

    [Test]
    public void ParseGet_Truncated_ThrowsFormatException()
    {
        Assert.Throws<FormatException>(() => UapiProtocol.ParseGet("wg0", "listen_port=1\n", out _));
        Assert.Throws<FormatException>(() => UapiProtocol.ParseGet("wg0", "public_key=xyz\nerrno=0\n\n", out _));
        Assert.Throws<FormatException>(() => UapiProtocol.ParseGet("wg0", "garbage\n", out _));
    }

    [Test]
    public void BuildSet_ReplacesPeersAndAllowedIps_InHex()
    {
        var me = WireGuardKeyPair.Generate();
        var peer = WireGuardKeyPair.Generate().PublicKey;
        var psk = WireGuardKey.Random();
        var config = new WireGuardConfig(
            new InterfaceConfig(me.PrivateKey, [new IpCidr(IPAddress.Parse("10.9.0.2"), 24)], 51821),
            [new PeerConfig(peer, [new IpCidr(IPAddress.Parse("10.9.0.1"), 32)], "192.0.2.1:51820", psk, 5)]);
        string set = UapiProtocol.BuildSet(config);
        Assert.That(set, Is.EqualTo(
            "set=1\n" +
            $"private_key={me.PrivateKey.ToHex()}\n" +
            "listen_port=51821\n" +
            "replace_peers=true\n" +
            $"public_key={peer.ToHex()}\n" +
            $"preshared_key={psk.ToHex()}\n" +
            "endpoint=192.0.2.1:51820\n" +
            "persistent_keepalive_interval=5\n" +
            "replace_allowed_ips=true\n" +
            "allowed_ip=10.9.0.1/32\n" +
            "\n"));
    }

    [Test]
    public void ParseDump_KernelWgShowDump_ReadsPeers()
    {
        var device = WireGuardKeyPair.Generate();
        var peer = WireGuardKeyPair.Generate().PublicKey;
        string dump = $"{device.PrivateKey.ToBase64()}\t{device.PublicKey.ToBase64()}\t51820\toff\n" +
                      $"{peer.ToBase64()}\t(none)\t192.0.2.9:51820\t10.9.0.1/32,fd00::1/128\t1700000000\t100\t200\t25\n";
        var state = KernelDevice.ParseDump("wg0", dump);
        Assert.That(state.PublicKey, Is.EqualTo(device.PublicKey));
        Assert.That(state.Peers.Single().Endpoint, Is.EqualTo("192.0.2.9:51820"));
        Assert.That(state.Peers.Single().AllowedIps, Has.Count.EqualTo(2));
        Assert.That((state.Peers.Single().RxBytes, state.Peers.Single().TxBytes), Is.EqualTo((100L, 200L)));
    }
}
