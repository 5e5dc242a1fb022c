using System.Net;
using System.Runtime.InteropServices;
using Relay.WireGuard.Config;
using Relay.WireGuard.Keys;
using Relay.WireGuard.Windows;

namespace Relay.WireGuard.Tests.Windows;

/// <summary>The WireGuardNT structs against wireguard.h's layout on x64 (ALIGNED(8)).</summary>
public class WireGuardNtLayoutTests
{
    [Test]
    public void Interface_MatchesCLayout()
    {
        Assert.That(Marshal.SizeOf<WireGuardInterface>(), Is.EqualTo(80));
        Assert.That(Offset<WireGuardInterface>("Flags"), Is.EqualTo(0));
        Assert.That(Offset<WireGuardInterface>("ListenPort"), Is.EqualTo(4));
        Assert.That(Offset<WireGuardInterface>("PrivateKey"), Is.EqualTo(6));
        Assert.That(Offset<WireGuardInterface>("PublicKey"), Is.EqualTo(38));
        Assert.That(Offset<WireGuardInterface>("PeersCount"), Is.EqualTo(72));
    }

    [Test]
    public void Peer_MatchesCLayout()
    {
        Assert.That(Marshal.SizeOf<WireGuardPeer>(), Is.EqualTo(136));
        Assert.That(Offset<WireGuardPeer>("Flags"), Is.EqualTo(0));
        Assert.That(Offset<WireGuardPeer>("Reserved"), Is.EqualTo(4));
        Assert.That(Offset<WireGuardPeer>("PublicKey"), Is.EqualTo(8));
        Assert.That(Offset<WireGuardPeer>("PresharedKey"), Is.EqualTo(40));
        Assert.That(Offset<WireGuardPeer>("PersistentKeepalive"), Is.EqualTo(72));
        Assert.That(Offset<WireGuardPeer>("Endpoint"), Is.EqualTo(76));
        Assert.That(Offset<WireGuardPeer>("TxBytes"), Is.EqualTo(104));
        Assert.That(Offset<WireGuardPeer>("RxBytes"), Is.EqualTo(112));
        Assert.That(Offset<WireGuardPeer>("LastHandshake"), Is.EqualTo(120));
        Assert.That(Offset<WireGuardPeer>("AllowedIpsCount"), Is.EqualTo(128));
    }

    [Test]
    public void AllowedIpAndSockAddr_MatchCLayout()
    {
        Assert.That(Marshal.SizeOf<WireGuardAllowedIp>(), Is.EqualTo(24));
        Assert.That(Offset<WireGuardAllowedIp>("AddressFamily"), Is.EqualTo(16));
        Assert.That(Offset<WireGuardAllowedIp>("Cidr"), Is.EqualTo(18));
        Assert.That(Marshal.SizeOf<SockAddrInet>(), Is.EqualTo(28));
        Assert.That(Offset<SockAddrInet>("V6Address"), Is.EqualTo(8));
        Assert.That(Offset<SockAddrInet>("V6ScopeId"), Is.EqualTo(24));
    }

    [Test]
    public void Build_FlatBuffer_HasInterfacePeersAndAllowedIpsInOrder()
    {
        var me = WireGuardKeyPair.Generate();
        var peerKey = WireGuardKeyPair.Generate().PublicKey;
        var config = new WireGuardConfig(
            new InterfaceConfig(me.PrivateKey, [], 51820),
            [new PeerConfig(peerKey, [new IpCidr(IPAddress.Parse("10.9.0.1"), 32), new IpCidr(IPAddress.Parse("fd00::"), 64)], "192.0.2.1:51820", null, 25)]);
        byte[] buffer = WireGuardNtMarshal.Build(config);
        Assert.That(buffer, Has.Length.EqualTo(80 + 136 + (2 * 24)));

        // WIREGUARD_INTERFACE
        Assert.That(BitConverter.ToUInt32(buffer, 0), Is.EqualTo(2u | 4u | 8u), "HAS_PRIVATE_KEY | HAS_LISTEN_PORT | REPLACE_PEERS");
        Assert.That(BitConverter.ToUInt16(buffer, 4), Is.EqualTo(51820));
        Assert.That(buffer.AsSpan(6, 32).ToArray(), Is.EqualTo(me.PrivateKey.Bytes.ToArray()));
        Assert.That(BitConverter.ToUInt32(buffer, 72), Is.EqualTo(1u));

        // WIREGUARD_PEER at 80
        Assert.That(BitConverter.ToUInt32(buffer, 80), Is.EqualTo(1u | 4u | 8u | 32u), "HAS_PUBLIC_KEY | HAS_PERSISTENT_KEEPALIVE | HAS_ENDPOINT | REPLACE_ALLOWED_IPS");
        Assert.That(buffer.AsSpan(80 + 8, 32).ToArray(), Is.EqualTo(peerKey.Bytes.ToArray()));
        Assert.That(BitConverter.ToUInt16(buffer, 80 + 72), Is.EqualTo(25));
        Assert.That(BitConverter.ToUInt16(buffer, 80 + 76), Is.EqualTo(2), "AF_INET");
        Assert.That(buffer.AsSpan(80 + 78, 2).ToArray(), Is.EqualTo(new byte[] { 0xCA, 0x6C }), "port 51820 in network order");
        Assert.That(buffer.AsSpan(80 + 80, 4).ToArray(), Is.EqualTo(new byte[] { 192, 0, 2, 1 }));
        Assert.That(BitConverter.ToUInt32(buffer, 80 + 128), Is.EqualTo(2u));

        // WIREGUARD_ALLOWED_IPs at 216 and 240
        Assert.That(buffer.AsSpan(216, 4).ToArray(), Is.EqualTo(new byte[] { 10, 9, 0, 1 }));
        Assert.That(BitConverter.ToUInt16(buffer, 216 + 16), Is.EqualTo(2), "AF_INET");
        Assert.That(buffer[216 + 18], Is.EqualTo(32));
        Assert.That(BitConverter.ToUInt16(buffer, 240 + 16), Is.EqualTo(23), "AF_INET6");
        Assert.That(buffer[240 + 18], Is.EqualTo(64));
    }

    [Test]
    public void Parse_BufferFromBuild_ReadsBack()
    {
        var peerKey = WireGuardKeyPair.Generate().PublicKey;
        var config = new WireGuardConfig(
            new InterfaceConfig(WireGuardKeyPair.Generate().PrivateKey, [], 51820),
            [new PeerConfig(peerKey, [new IpCidr(IPAddress.Parse("10.9.0.0"), 24)], "[fd00::7]:51820", WireGuardKey.Random(), 5)]);
        byte[] buffer = WireGuardNtMarshal.Build(config);
        var state = WireGuardNtMarshal.Parse("wg0", buffer);
        Assert.That(state.ListenPort, Is.EqualTo(51820));
        var peer = state.Peers.Single();
        Assert.That(peer.PublicKey, Is.EqualTo(peerKey));
        Assert.That(peer.Endpoint, Is.EqualTo("[fd00::7]:51820"));
        Assert.That(peer.AllowedIps, Is.EqualTo(new[] { "10.9.0.0/24" }));
        Assert.That(peer.PersistentKeepalive, Is.EqualTo(5));
        Assert.Throws<FormatException>(() => WireGuardNtMarshal.Parse("wg0", buffer.AsSpan(0, buffer.Length - 1)));
    }

    private static int Offset<T>(string field) => (int)Marshal.OffsetOf<T>(field);
}
