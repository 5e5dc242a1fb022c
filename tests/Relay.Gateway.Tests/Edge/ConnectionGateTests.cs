using System.Net;
using System.Net.Sockets;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using Relay.Gateway.Configuration;

namespace Relay.Gateway.Tests.Edge;

/// <summary>
/// Issue 16 item 1: idle TCP connections from many addresses must not take the gateway down. At its caps it closes
/// new connections at once and goes on serving the sessions it has.
/// </summary>
[NonParallelizable]
public class ConnectionGateTests
{
    [Test]
    [CancelAfter(60_000)]
    public async Task IdleFlood_BeyondTheCaps_ExcessIsClosed_SessionsKeepEchoing_ReadyzStays200(CancellationToken token)
    {
        await using var gw = await GatewayFixture.StartAsync(o => { o.MaxConnections = 200; o.MaxPreAuthConnectionsPerIp = 4; });
        int port = RawClient.Port(gw.HttpUrl);
        var sessions = new List<ClientWebSocket>();
        for (int i = 0; i < 5; i++)
        {
            sessions.Add(await gw.ConnectAsync(GatewayFixture.Token($"user{i}"), ct: token));
        }

        using var http = new HttpClient();
        Assert.That((await http.GetAsync(gw.HttpUrl + "/readyz", token)).StatusCode, Is.EqualTo(HttpStatusCode.OK));

        var oneAddress = new List<Socket>();
        var flood = new List<Socket>();
        try
        {
            // Ten idle connections from one address: beyond its 4 pre-auth connections, closed at once.
            var single = IPAddress.Parse("127.0.5.5");
            for (int i = 0; i < 10; i++)
            {
                oneAddress.Add(await RawClient.ConnectAsync(single, port, token));
            }

            int closedFromOne = await RawClient.CountClosedAsync(oneAddress, TimeSpan.FromSeconds(2), token);
            Assert.That(closedFromOne, Is.EqualTo(6), "an address keeps at most 4 connections that have not upgraded");

            // 400 idle connections from 100 addresses, 4 each (within the per-address limit): twice the cap.
            for (int a = 0; a < 100; a++)
            {
                for (int i = 0; i < 4; i++)
                {
                    flood.Add(await RawClient.ConnectAsync(RawClient.Source(a), port, token));
                }
            }

            int closed = await RawClient.CountClosedAsync(flood, TimeSpan.FromSeconds(3), token);
            Assert.That(closed, Is.GreaterThanOrEqualTo(200), "the connections beyond the cap of 200 are closed");
            Assert.That(closed, Is.LessThan(400), "connections within the caps are kept (until their head deadline)");

            // The sessions it had go on, nothing lost; the relay stays ready.
            for (int round = 0; round < 3; round++)
            {
                for (int i = 0; i < sessions.Count; i++)
                {
                    string text = $"user{i} message {round}";
                    await sessions[i].SendAsync(Encoding.UTF8.GetBytes(text), WebSocketMessageType.Text, true, token);
                    var echo = await GatewayFixture.ReceiveAsync(sessions[i], token);
                    Assert.That(Encoding.UTF8.GetString(echo.Data), Is.EqualTo(text));
                }
            }

            Assert.That((await http.GetAsync(gw.HttpUrl + "/readyz", token)).StatusCode, Is.EqualTo(HttpStatusCode.OK));
            using var status = JsonDocument.Parse(await http.GetStringAsync(gw.HttpUrl + "/status", token));
            var connections = status.RootElement.GetProperty("connections");
            Assert.That(connections.GetProperty("open").GetInt32(), Is.InRange(5, 200));
            Assert.That(connections.GetProperty("preAuth").GetInt32(), Is.GreaterThan(0));
            var refused = connections.GetProperty("refused");
            Assert.That(refused.GetProperty("perIp").GetInt64(), Is.GreaterThanOrEqualTo(6));
            Assert.That(refused.GetProperty("preAuth").GetInt64() + refused.GetProperty("connections").GetInt64(), Is.GreaterThanOrEqualTo(200));
        }
        finally
        {
            RawClient.DisposeAll(oneAddress);
            RawClient.DisposeAll(flood);
            foreach (var s in sessions)
            {
                s.Dispose();
            }
        }
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task IdleFlood_AtTheCap_NewSessionIsRefused_UntilTheHeadDeadlineClosesTheIdleOnes(CancellationToken token)
    {
        await using var gw = await GatewayFixture.StartAsync(o =>
        {
            o.MaxConnections = 40;
            o.MaxPreAuthConnectionsPerIp = 4;
            o.RequestHeadTimeout = TimeSpan.FromSeconds(2);
        });
        int port = RawClient.Port(gw.HttpUrl);
        var flood = new List<Socket>();
        try
        {
            for (int a = 0; a < 20; a++)
            {
                for (int i = 0; i < 4; i++)
                {
                    flood.Add(await RawClient.ConnectAsync(RawClient.Source(a), port, token));
                }
            }

            // Every slot is held by an idle connection: a new session is refused, not queued.
            Assert.ThrowsAsync<WebSocketException>(async () => (await gw.ConnectAsync(ct: token)).Dispose());

            // The head deadline closes every idle one; then a session opens and echoes.
            Assert.That(await RawClient.CountClosedAsync(flood, TimeSpan.FromSeconds(15), token), Is.EqualTo(flood.Count));
            using var ws = await gw.ConnectAsync(ct: token);
            await ws.SendAsync("after the flood"u8.ToArray(), WebSocketMessageType.Text, true, token);
            Assert.That(Encoding.UTF8.GetString((await GatewayFixture.ReceiveAsync(ws, token)).Data), Is.EqualTo("after the flood"));
        }
        finally
        {
            RawClient.DisposeAll(flood);
        }
    }

    [TestCase(true)]
    [TestCase(false)]
    [CancelAfter(30_000)]
    public async Task Sessions_NoLongerCountAsPreAuth_OnEitherUpgradePath(bool fastUpgrade, CancellationToken token)
    {
        await using var gw = await GatewayFixture.StartAsync(o => { o.FastUpgrade = fastUpgrade; o.MaxPreAuthConnectionsPerIp = 2; });
        var sessions = new List<ClientWebSocket>();
        try
        {
            for (int i = 0; i < 6; i++)
            {
                sessions.Add(await gw.ConnectAsync(GatewayFixture.Token($"u{i}"), ct: token));
            }

            await sessions[^1].SendAsync("sixth"u8.ToArray(), WebSocketMessageType.Text, true, token);
            Assert.That(Encoding.UTF8.GetString((await GatewayFixture.ReceiveAsync(sessions[^1], token)).Data), Is.EqualTo("sixth"));
            using var http = new HttpClient();
            using var status = JsonDocument.Parse(await http.GetStringAsync(gw.HttpUrl + "/status", token));
            Assert.That(status.RootElement.GetProperty("connections").GetProperty("preAuth").GetInt32(), Is.EqualTo(1), "only the /status request itself");
        }
        finally
        {
            foreach (var s in sessions)
            {
                s.Dispose();
            }
        }
    }

    [Test]
    public void DefaultConnectionCap_StaysBelowTheOpenFileLimit()
    {
        long? limit = Relay.Gateway.Edge.FileLimit.OpenFiles();
        if (limit is null)
        {
            Assert.Ignore("no open-file limit readable on this platform");
        }

        int cap = Relay.Gateway.Edge.ConnectionGate.EffectiveMaxConnections(new GatewayOptions(), limit);
        Assert.That(cap, Is.LessThanOrEqualTo(limit!.Value - Relay.Gateway.Edge.ConnectionGate.FileReserve).And.GreaterThan(0));
        Assert.That(Relay.Gateway.Edge.ConnectionGate.EffectiveMaxConnections(new GatewayOptions { MaxConnections = int.MaxValue }, limit), Is.EqualTo(cap), "a configured cap above the limit is lowered to it");
    }
}
