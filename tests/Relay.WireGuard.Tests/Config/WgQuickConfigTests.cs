using System.Net;
using CsCheck;
using Relay.WireGuard;
using Relay.WireGuard.Config;
using Relay.WireGuard.Keys;

namespace Relay.WireGuard.Tests.Config;

public class WgQuickConfigTests
{
    private static readonly string s_private = WireGuardKeyPair.Generate().PrivateKey.ToBase64();
    private static readonly string s_public = WireGuardKeyPair.Generate().PublicKey.ToBase64();

    [Test]
    public void Parse_FullFile_ReadsEveryKey()
    {
        string psk = WireGuardKey.Random().ToBase64();
        var config = WgQuickConfig.Parse($"""
            # relay edge
            [Interface]
            PrivateKey = {s_private}
            Address = 10.9.0.2/24, fd00::2/64
            ListenPort = 51820
            MTU = 1380

            [Peer]  # the core
            PublicKey = {s_public}
            PresharedKey = {psk}
            AllowedIPs = 10.9.0.1/32
            AllowedIPs = fd00::1/128
            Endpoint = core.example.net:51820
            PersistentKeepalive = 25
            """);
        Assert.That(config.Interface.Addresses.Select(a => a.ToString()), Is.EqualTo(new[] { "10.9.0.2/24", "fd00::2/64" }));
        Assert.That(config.Interface.ListenPort, Is.EqualTo(51820));
        Assert.That(config.Interface.Mtu, Is.EqualTo(1380));
        var peer = config.Peers.Single();
        Assert.That(peer.PublicKey.ToBase64(), Is.EqualTo(s_public));
        Assert.That(peer.PresharedKey!.ToBase64(), Is.EqualTo(psk));
        Assert.That(peer.AllowedIps.Select(a => a.ToString()), Is.EqualTo(new[] { "10.9.0.1/32", "fd00::1/128" }));
        Assert.That(peer.Endpoint, Is.EqualTo("core.example.net:51820"));
        Assert.That(peer.PersistentKeepalive, Is.EqualTo(25));
    }

    [Test]
    public void Write_ThenParse_RoundTrips()
    {
        var config = new WireGuardConfig(
            new InterfaceConfig(WireGuardKeyPair.Generate().PrivateKey, [new IpCidr(IPAddress.Parse("10.1.2.3"), 16)], 51000, 1400),
            [
                new PeerConfig(WireGuardKeyPair.Generate().PublicKey, [new IpCidr(IPAddress.Parse("10.1.0.0"), 16)], "[fd00::1]:51820", WireGuardKey.Random(), 5),
                new PeerConfig(WireGuardKeyPair.Generate().PublicKey, []),
            ]);
        var back = WgQuickConfig.Parse(WgQuickConfig.Write(config));
        Assert.That(back.SameAs(config), Is.True, WgQuickConfig.Write(back));
    }

    [TestCase("[Interface]\nPrivateKey = nope\n", 2, "Interface", "PrivateKey")]
    [TestCase("[Interface]\nPrivateKey = {0}\nAddress = 10.0.0.1/33\n", 3, "Interface", "Address")]
    [TestCase("[Interface]\nPrivateKey = {0}\nListenPort = 70000\n", 3, "Interface", "ListenPort")]
    [TestCase("[Interface]\nPrivateKey = {0}\nPostUp = rm -rf /\n", 3, "Interface", "PostUp")]
    [TestCase("[Interface]\nPrivateKey = {0}\n[Peer]\nPublicKey = {1}\nEndpoint = host-without-port\n", 5, "Peer", "Endpoint")]
    [TestCase("[Interface]\nPrivateKey = {0}\n[Peer]\nPublicKey = {1}\nPersistentKeepalive = -1\n", 5, "Peer", "PersistentKeepalive")]
    [TestCase("[Interface]\nPrivateKey = {0}\n[Peer]\nAllowedIPs = 10.0.0.0/8\n", 3, "Peer", "PublicKey")]
    [TestCase("[Interface]\nPrivateKey = {0}\n[Pear]\n", 3, null, null)]
    [TestCase("PrivateKey = {0}\n", 1, null, "PrivateKey")]
    [TestCase("[Interface]\nPrivateKey = {0}\njust words\n", 3, "Interface", null)]
    public void Parse_BadLine_NamesLineSectionAndKey(string template, int line, string? section, string? key)
    {
        string text = string.Format(System.Globalization.CultureInfo.InvariantCulture, template, s_private, s_public);
        var error = Assert.Throws<ConfigException>(() => WgQuickConfig.Parse(text, "edge.conf"));
        Assert.That(error!.LineNumber, Is.EqualTo(line), error.Message);
        Assert.That(error.Section, Is.EqualTo(section), error.Message);
        Assert.That(error.Key, Is.EqualTo(key), error.Message);
        Assert.That(error.Message, Does.StartWith("edge.conf line " + line));
        Assert.That(error.Message, Does.Not.Contain(s_private), "a private key never appears in an error");
    }

    [Test]
    public void Parse_MissingPrivateKey_Throws()
    {
        var error = Assert.Throws<ConfigException>(() => WgQuickConfig.Parse("[Interface]\nListenPort = 1\n"));
        Assert.That(error!.Key, Is.EqualTo("PrivateKey"));
    }

    [Test]
    public void Parse_RandomText_ThrowsOnlyConfigException()
    {
        var keys = Gen.OneOfConst("PrivateKey", "PublicKey", "Address", "AllowedIPs", "Endpoint", "ListenPort", "PersistentKeepalive", "PresharedKey", "MTU", "x", "");
        var values = Gen.OneOf(Gen.String, Gen.OneOfConst(s_private, s_public, "10.0.0.1/24", "::/0", "a:1", "[::1]:5", "off", "0", "65535", "1,2", ""));
        var line = Gen.OneOf(
            Gen.OneOfConst("[Interface]", "[Peer]", "[", "]", "#", "=", ""),
            Gen.Select(keys, values, (k, v) => $"{k} = {v}"),
            Gen.String);
        line.Array[0, 20].Sample(lines =>
        {
            try
            {
                var config = WgQuickConfig.Parse(string.Join('\n', lines));
                Assert.That(WgQuickConfig.Parse(WgQuickConfig.Write(config)).SameAs(config), Is.True);
            }
            catch (ConfigException)
            {
                // the only failure allowed
            }
        }, iter: 20_000);
    }

    [Test]
    public void Parse_ValidRandomConfigs_RoundTrip()
    {
        var key = Gen.Byte.Array[32].Select(b => WireGuardKey.FromBytes(b));
        var v4 = Gen.Select(Gen.Byte.Array[4], Gen.Int[0, 32], (b, p) => new IpCidr(new IPAddress(b), p));
        var v6 = Gen.Select(Gen.Byte.Array[16], Gen.Int[0, 128], (b, p) => new IpCidr(new IPAddress(b), p));
        var cidr = Gen.OneOf(v4, v6);
        var endpoint = Gen.OneOf(Gen.Const((string?)null), Gen.Select(Gen.Byte.Array[4], Gen.Int[1, 65535], (b, p) => (string?)new IPEndPoint(new IPAddress(b), p).ToString()));
        var peer = Gen.Select(key, cidr.List[0, 4], endpoint, Gen.OneOf(Gen.Const((int?)null), Gen.Int[1, 65535].Select(i => (int?)i)),
            (k, a, e, ka) => new PeerConfig(k, a, e, null, ka));
        var config = Gen.Select(key, cidr.List[0, 3], Gen.OneOf(Gen.Const((int?)null), Gen.Int[0, 65535].Select(i => (int?)i)), peer.List[0, 4],
            (k, a, port, peers) => new WireGuardConfig(new InterfaceConfig(k, a, port), peers.DistinctBy(p => p.PublicKey.ToHex()).ToList()));
        config.Sample(c => WgQuickConfig.Parse(WgQuickConfig.Write(c)).SameAs(c), iter: 2_000);
    }
}
