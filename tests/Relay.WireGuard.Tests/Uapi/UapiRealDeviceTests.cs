using Relay.Testing;
using System.Net;
using Relay.WireGuard.Config;
using Relay.WireGuard.Keys;
using Relay.WireGuard.Uapi;

namespace Relay.WireGuard.Tests.Uapi;

/// <summary>Two real wireguard-go devices in two fresh namespaces, configured only through <see cref="UapiClient"/>.</summary>
[NonParallelizable]
public class UapiRealDeviceTests
{
    [Test]
    [CancelAfter(60_000)]
    public async Task SetAndGet_RealWireGuardGo_ReadsBackConfigAndCounters(CancellationToken token)
    {
        if (NetnsLab.CheckPrerequisites() is { } missing)
        {
            Assert.Ignore(missing);
        }

        using var lab = new NetnsLab();
        string a = lab.Namespace("a"), b = lab.Namespace("b");
        int o = lab.Octet;
        lab.Veth(a, $"va{lab.Id}", $"10.213.{o}.1/24", b, $"vb{lab.Id}", $"10.213.{o}.2/24");
        string ifA = $"wga{lab.Id}", ifB = $"wgb{lab.Id}";
        string dir = TempFolders.Create("relay-wg-uapi-");
        lab.Start(a, "wireguard-go a", Path.Combine(dir, "a.log"), "wireguard-go", "-f", ifA);
        lab.Start(b, "wireguard-go b", Path.Combine(dir, "b.log"), "wireguard-go", "-f", ifB);
        var clientA = new UapiClient(ifA);
        var clientB = new UapiClient(ifB);
        await WaitForSocketAsync(clientA, token);
        await WaitForSocketAsync(clientB, token);

        var keyA = WireGuardKeyPair.Generate();
        var keyB = WireGuardKeyPair.Generate();
        var psk = WireGuardKey.Random();
        await clientA.SetAsync(new WireGuardConfig(new InterfaceConfig(keyA.PrivateKey, [], 51820),
            [new PeerConfig(keyB.PublicKey, [Cidr($"10.214.{o}.2/32")], null, psk, null)]), token);
        await clientB.SetAsync(new WireGuardConfig(new InterfaceConfig(keyB.PrivateKey, [], 51821),
            [new PeerConfig(keyA.PublicKey, [Cidr($"10.214.{o}.1/32")], $"10.213.{o}.1:51820", psk, 1)]), token);
        NetnsLab.Ip(a, "address", "add", $"10.214.{o}.1/24", "dev", ifA);
        NetnsLab.Ip(a, "link", "set", ifA, "up");
        NetnsLab.Ip(b, "address", "add", $"10.214.{o}.2/24", "dev", ifB);
        NetnsLab.Ip(b, "link", "set", ifB, "up");

        var state = await clientA.GetAsync(token);
        Assert.That(state.PublicKey, Is.EqualTo(keyA.PublicKey));
        Assert.That(state.ListenPort, Is.EqualTo(51820));
        Assert.That(state.Peers.Single().PublicKey, Is.EqualTo(keyB.PublicKey));
        Assert.That(state.Peers.Single().AllowedIps, Is.EqualTo(new[] { $"10.214.{o}.2/32" }));

        // Traffic through the tunnel: B sends UDP to A's tunnel address (and keepalives every second); both
        // devices then report a handshake and bytes.
        NetnsLab.Exec(b, "bash", "-c", $"echo hello > /dev/udp/10.214.{o}.1/9");
        var afterA = (await clientA.GetAsync(token)).Peers.Single();
        for (int i = 0; i < 100 && afterA.LastHandshake is null; i++)
        {
            await Task.Delay(100, token);
            afterA = (await clientA.GetAsync(token)).Peers.Single();
        }

        var afterB = (await clientB.GetAsync(token)).Peers.Single();
        Assert.That(afterA.LastHandshake, Is.Not.Null);
        Assert.That(afterA.Endpoint, Is.EqualTo($"10.213.{o}.2:51821"), "A learnt B's endpoint from the handshake");
        Assert.That(afterA.RxBytes, Is.GreaterThan(0));
        Assert.That(afterB.TxBytes, Is.GreaterThan(0));
        Assert.That(afterB.PersistentKeepalive, Is.EqualTo(1));
        Directory.Delete(dir, recursive: true);
    }

    private static IpCidr Cidr(string text) => IpCidr.TryParse(text, out var c) ? c! : throw new FormatException(text);

    private static async Task WaitForSocketAsync(UapiClient client, CancellationToken token)
    {
        for (int i = 0; i < 100 && !client.Exists; i++)
        {
            await Task.Delay(100, token);
        }

        Assert.That(client.Exists, Is.True, $"wireguard-go did not create {client.SocketPath}");
    }
}
