using System.Net;
using System.Net.Http.Json;
using System.Net.Security;
using System.Net.Sockets;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Relay.Gateway.Configuration;
using Relay.Gateway.Edge;

namespace Relay.Gateway.Tests.Edge;

/// <summary>
/// A TLS handshake costs the relay 0.3 to 1.5 ms of CPU; one anonymous client that opened and dropped TLS
/// connections in a loop took a 2-vCPU relay's CPU and nothing refused it (no cap counts a connection that is over in
/// milliseconds). New wss connections per second per client (IPv4 address, IPv6 /64) are now a token bucket asked at
/// accept: beyond it the connection is reset before its handshake. The bucket's clock is the gate's TimeProvider.
/// </summary>
[NonParallelizable]
public class TlsHandshakeRateTests
{
    [Test]
    public void Bucket_SpendsItsBurst_RefillsAtTheRate_PerAddressAndPerIPv6Slash64()
    {
        var time = new FakeTimeProvider();
        var rate = new ClientRate(perSecond: 2, burst: 3, time);
        var a = IPAddress.Parse("198.51.100.7");

        Assert.That(Enumerable.Range(0, 4).Select(_ => rate.TryTake(a)), Is.EqualTo(new[] { true, true, true, false }), "the burst, then refused");
        Assert.That(rate.TryTake(IPAddress.Parse("198.51.100.8")), Is.True, "another address has its own bucket");
        Assert.That(rate.TryTake(IPAddress.Parse("::ffff:198.51.100.7")), Is.False, "the IPv4-mapped form is the same client");

        time.Advance(TimeSpan.FromMilliseconds(500));
        Assert.That((rate.TryTake(a), rate.TryTake(a)), Is.EqualTo((true, false)), "half a second at 2/s: one more");
        time.Advance(TimeSpan.FromMinutes(1));
        Assert.That(Enumerable.Range(0, 4).Count(_ => rate.TryTake(a)), Is.EqualTo(3), "an idle minute refills the burst, no more");

        // An IPv6 subscriber has a /64: its addresses share one bucket; the next /64 is another client.
        Assert.That(Enumerable.Range(1, 4).Select(i => rate.TryTake(IPAddress.Parse($"2001:db8:0:1::{i:x}"))), Is.EqualTo(new[] { true, true, true, false }));
        Assert.That(rate.TryTake(IPAddress.Parse("2001:db8:0:2::1")), Is.True);
    }

    [Test]
    public void Table_AtItsSize_DropsTheIdleClients_ElseLetsNewOnesThroughUntracked()
    {
        var time = new FakeTimeProvider();
        var rate = new ClientRate(perSecond: 1, burst: 2, time);
        for (int i = 0; i < ClientRate.MaxTracked; i++)
        {
            Assert.That(rate.TryTake(new IPAddress(0x0A000000u + (uint)i)), Is.True);
        }

        Assert.That(rate.Tracked, Is.EqualTo(ClientRate.MaxTracked));
        var newcomer = IPAddress.Parse("192.0.2.1");
        Assert.That(rate.TryTake(newcomer), Is.True, "a full table of busy clients: a new one goes through, untracked");
        Assert.That(rate.Tracked, Is.EqualTo(ClientRate.MaxTracked));

        time.Advance(TimeSpan.FromSeconds(2)); // every bucket is full again: those clients are as good as untracked
        Assert.That(rate.TryTake(newcomer), Is.True);
        Assert.That(rate.Tracked, Is.EqualTo(1), "the sweep dropped the idle clients and tracks the newcomer");
    }

    [Test]
    public void Gate_LimitsTheTlsListenerOnly_NotTrustedProxies_AndACappedConnectionTakesNoToken()
    {
        var time = new FakeTimeProvider();
        var gate = new ConnectionGate(new GatewayOptions { TlsHandshakesPerSecondPerAddress = 1, TlsHandshakeBurstPerAddress = 2, TrustedProxies = ["192.0.2.9"], MaxPreAuthConnectionsPerIp = 16 }, fileLimit: 20_000, time);
        var client = IPAddress.Parse("198.51.100.7");

        Assert.That(Enumerable.Range(0, 3).Select(_ => gate.RefuseAtAccept(client, tls: true)), Is.EqualTo(new[] { false, false, true }));
        Assert.That(Enumerable.Range(0, 5).Any(_ => gate.RefuseAtAccept(client, tls: false)), Is.False, "plain ws:// is not limited by it");
        Assert.That(Enumerable.Range(0, 5).Any(_ => gate.RefuseAtAccept(IPAddress.Parse("192.0.2.9"), tls: true)), Is.False, "a trusted proxy carries many clients");
        Assert.That((gate.RefusedTlsRate, gate.IsRefusing), Is.EqualTo((1L, true)), "counted, and the gate is refusing (the accept budget and Under Attack mode see it)");

        var off = new ConnectionGate(new GatewayOptions { TlsHandshakesPerSecondPerAddress = 0 }, fileLimit: 20_000, time);
        Assert.That(Enumerable.Range(0, 500).Any(_ => off.RefuseAtAccept(client, tls: true)), Is.False, "0: no limit");
    }

    [TestCase(true)]
    [TestCase(false)]
    [CancelAfter(60_000)]
    public async Task OneClientsHandshakeLoop_IsResetBeforeTheHandshake_OthersAndPlainWsGoOn(bool socketSessions, CancellationToken token)
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var clock = new SessionTests.RunningClock(time); // the gateway's own timers need it to start
        await TlsTests.WithTlsGatewayAsync(
            async (gw, _) =>
            {
                var gate = gw.App.Services.GetRequiredService<ConnectionGate>();
                int port = new Uri(gw.WssUrl!).Port;
                await clock.StopAsync(); // no refill from here on, unless the test advances the clock
                try
                {
                    for (int i = 0; i < 3; i++)
                    {
                        Assert.That(await HandshakeAsync(IPAddress.Loopback, port, token), Is.True, $"handshake {i} of the burst");
                    }

                    Assert.That(await HandshakeAsync(IPAddress.Loopback, port, token), Is.False, "the fourth in the same second: reset at accept");
                    Assert.That(await HandshakeAsync(IPAddress.Parse("127.0.0.2"), port, token), Is.True, "another client is not held");
                    using (var plain = new HttpClient())
                    {
                        for (int i = 0; i < 5; i++)
                        {
                            using var response = await plain.GetAsync(gw.HttpUrl + "/healthz", token);
                            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK), "the plain listener is not limited by it");
                        }
                    }

                    time.Advance(TimeSpan.FromSeconds(1));
                    Assert.That(await HandshakeAsync(IPAddress.Loopback, port, token), Is.True, "a second later: one more");
                    Assert.That(gate.RefusedTlsRate, Is.EqualTo(1));
                }
                finally
                {
                    clock.Start();
                }

                using var http = new HttpClient();
                using var status = JsonDocument.Parse(await http.GetStringAsync(gw.HttpUrl + "/status", token));
                var connections = status.RootElement.GetProperty("connections");
                Assert.That(connections.GetProperty("refused").GetProperty("tlsRate").GetInt64(), Is.EqualTo(1));
                Assert.That(connections.GetProperty("limits").GetProperty("tlsHandshakesPerSecondPerAddress").GetInt32(), Is.EqualTo(1));
            },
            o =>
            {
                o.SocketSessions = socketSessions;
                o.TlsHandshakesPerSecondPerAddress = 1;
                o.TlsHandshakeBurstPerAddress = 3;
            },
            time);
    }

    /// <summary>True when a TLS handshake from <paramref name="from"/> completes; false when the connection is reset or closed first.</summary>
    private static async Task<bool> HandshakeAsync(IPAddress from, int port, CancellationToken token)
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        socket.Bind(new IPEndPoint(from, 0));
        try
        {
            await socket.ConnectAsync(IPAddress.Loopback, port, token); // the reset can come before connect() returns
            await using var tls = new SslStream(new NetworkStream(socket, ownsSocket: false), false, (_, _, _, _) => true);
            await tls.AuthenticateAsClientAsync(new SslClientAuthenticationOptions { TargetHost = "localhost" }, token).WaitAsync(TimeSpan.FromSeconds(10), token);
            return true;
        }
        catch (Exception e) when (e is IOException or System.Security.Authentication.AuthenticationException or SocketException)
        {
            return false;
        }
    }
}
