using System.Net;
using System.Net.Sockets;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
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
            long beyond = refused.GetProperty("connections").GetInt64() + connections.GetProperty("evicted").GetInt64() + refused.GetProperty("preAuthCap").GetInt64();
            Assert.That(beyond, Is.GreaterThanOrEqualTo(200), "refused at the connection cap, evicted, or reset at accept at the pre-auth cap");
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

    /// <summary>
    /// A connection kept alive after a request is waiting for its next request head, and holds a pre-auth place
    /// meanwhile: it gets the head deadline, not Kestrel's keep-alive timeout (2 min 10 s by default), or one cheap
    /// request bought an anonymous client thirteen times the hold a connection that sends nothing gets.
    /// </summary>
    [Test]
    [CancelAfter(60_000)]
    public async Task KeptAliveConnection_IdleAfterARequest_IsClosedAtTheHeadDeadline_AndItsPlaceIsFree(CancellationToken token)
    {
        await using var gw = await GatewayFixture.StartAsync(o => o.RequestHeadTimeout = TimeSpan.FromSeconds(1));
        var gate = gw.App.Services.GetRequiredService<Relay.Gateway.Edge.ConnectionGate>();
        using var s = await RawClient.ConnectAsync(RawClient.Source(7), RawClient.Port(gw.HttpUrl), token);
        await s.SendAsync("GET /healthz HTTP/1.1\r\nHost: a\r\n\r\n"u8.ToArray(), token);
        var buffer = new byte[4096];
        int n = await s.ReceiveAsync(buffer, token);
        Assert.That(Encoding.ASCII.GetString(buffer, 0, n), Does.StartWith("HTTP/1.1 200"));
        Assert.That(gate.PreAuth, Is.EqualTo(1), "kept alive, not a session");

        Assert.That(await RawClient.CountClosedAsync([s], TimeSpan.FromSeconds(20), token), Is.EqualTo(1), "closed while idle, long before Kestrel's keep-alive timeout");
        while (gate.PreAuth != 0)
        {
            await Task.Delay(20, token); // the gate hears of it a moment after the socket closes
        }
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task IdleFlood_FillsThePreAuthCap_NewSessionStillConnectsAndEchoes_ReadyzAnswers200(CancellationToken token)
    {
        await using var gw = await GatewayFixture.StartAsync(o =>
        {
            o.MaxPreAuthConnections = 40;
            o.MaxPreAuthConnectionsPerIp = 4;
            o.RequestHeadTimeout = TimeSpan.FromMinutes(2); // the head deadline does not free the slots during this test
        });
        int port = RawClient.Port(gw.HttpUrl);
        var gate = gw.App.Services.GetRequiredService<Relay.Gateway.Edge.ConnectionGate>();
        var flood = new List<Socket>();
        try
        {
            // 80 idle connections from 20 addresses (4 each, the per-address cap): twice the pre-auth cap.
            for (int a = 0; a < 20; a++)
            {
                for (int i = 0; i < 4; i++)
                {
                    flood.Add(await RawClient.ConnectAsync(RawClient.Source(a), port, token));
                }
            }

            for (int i = 0; i < 200 && gate.PreAuth < gate.MaxPreAuthConnections; i++)
            {
                await Task.Delay(50, token);
            }

            Assert.That(gate.PreAuth, Is.EqualTo(40), "the flood holds every pre-auth slot");

            // A flood cannot hold the slots: the newcomer takes the place of the oldest idle connection.
            using var ws = await gw.ConnectAsync(ct: token);
            await ws.SendAsync("during the flood"u8.ToArray(), WebSocketMessageType.Text, true, token);
            Assert.That(Encoding.UTF8.GetString((await GatewayFixture.ReceiveAsync(ws, token)).Data), Is.EqualTo("during the flood"));
            using var http = new HttpClient();
            Assert.That((await http.GetAsync(gw.HttpUrl + "/readyz", token)).StatusCode, Is.EqualTo(HttpStatusCode.OK));

            using var status = JsonDocument.Parse(await http.GetStringAsync(gw.HttpUrl + "/status", token));
            var connections = status.RootElement.GetProperty("connections");
            // Beyond the cap each flood connection either evicted an older one or, when its own address already held
            // the most, was reset at accept; the session evicted one more.
            long evicted = connections.GetProperty("evicted").GetInt64();
            long reset = connections.GetProperty("refused").GetProperty("preAuthCap").GetInt64();
            Assert.That(evicted + reset, Is.EqualTo(41), "40 flood connections beyond the cap and one slot for the session");
            Assert.That(evicted, Is.GreaterThanOrEqualTo(1), "the session took the slot of an idle one");
            Assert.That(await RawClient.CountClosedAsync(flood, TimeSpan.FromSeconds(2), token), Is.EqualTo(41), "the evicted and the reset ones are closed (the session's connection is a session now, no longer pre-auth)");
        }
        finally
        {
            RawClient.DisposeAll(flood);
        }
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task Eviction_TakesTheAddressHoldingTheMost_NotALoneClient(CancellationToken token)
    {
        await using var gw = await GatewayFixture.StartAsync(o => { o.MaxPreAuthConnections = 8; o.MaxPreAuthConnectionsPerIp = 6; o.RequestHeadTimeout = TimeSpan.FromMinutes(2); });
        int port = RawClient.Port(gw.HttpUrl);
        var gate = gw.App.Services.GetRequiredService<Relay.Gateway.Edge.ConnectionGate>();
        var lone = new List<Socket>();
        var flood = new List<Socket>();
        try
        {
            // Two lone clients first (the oldest), then one address with six.
            lone.Add(await RawClient.ConnectAsync(RawClient.Source(1), port, token));
            lone.Add(await RawClient.ConnectAsync(RawClient.Source(2), port, token));
            await WaitForPreAuthAsync(gate, 2, token);
            for (int i = 0; i < 6; i++)
            {
                flood.Add(await RawClient.ConnectAsync(RawClient.Source(3), port, token));
                await WaitForPreAuthAsync(gate, 3 + i, token); // one at a time: their order is known
            }

            // Four newcomers at the cap from other addresses: each evicts one of the address holding the most.
            for (int i = 0; i < 4; i++)
            {
                flood.Add(await RawClient.ConnectAsync(RawClient.Source(10 + i), port, token));
            }

            Assert.That(await RawClient.CountClosedAsync(lone, TimeSpan.FromSeconds(2), token), Is.Zero, "lone clients keep their slot");
            Assert.That(await RawClient.CountClosedAsync(flood.GetRange(0, 4), TimeSpan.FromSeconds(1), token), Is.EqualTo(4), "the address with six gave up its four oldest");
            Assert.That(await RawClient.CountClosedAsync(flood.GetRange(4, 6), TimeSpan.FromSeconds(1), token), Is.Zero, "its two newest and the newcomers stay");
        }
        finally
        {
            RawClient.DisposeAll(lone);
            RawClient.DisposeAll(flood);
        }
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task AtThePreAuthCap_ANewcomerFromTheAddressHoldingTheMost_IsRefusedAtAccept_AndEvictsNobody(CancellationToken token)
    {
        // A flood's own reconnects must not churn its older connections (each eviction costs a full Kestrel connection
        // and garbage for the GC); they are reset at accept, before Kestrel builds anything for them. A lone client
        // still gets in at the cap by evicting the oldest of the address holding the most.
        await using var gw = await GatewayFixture.StartAsync(o => { o.MaxPreAuthConnections = 8; o.MaxPreAuthConnectionsPerIp = 20; o.RequestHeadTimeout = TimeSpan.FromMinutes(2); });
        int port = RawClient.Port(gw.HttpUrl);
        var gate = gw.App.Services.GetRequiredService<Relay.Gateway.Edge.ConnectionGate>();
        var held = new List<Socket>();
        var newcomers = new List<Socket>();
        try
        {
            held.Add(await RawClient.ConnectAsync(RawClient.Source(1), port, token));
            for (int i = 0; i < 7; i++)
            {
                held.Add(await RawClient.ConnectAsync(RawClient.Source(3), port, token));
            }

            await WaitForPreAuthAsync(gate, 8, token);
            for (int i = 0; i < 5; i++)
            {
                newcomers.Add(await RawClient.ConnectAsync(RawClient.Source(3), port, token)); // the flood's address again
            }

            Assert.That(await RawClient.CountClosedAsync(newcomers, TimeSpan.FromSeconds(2), token), Is.EqualTo(5), "refused: their address holds the most");
            Assert.That(await RawClient.CountClosedAsync(held, TimeSpan.FromSeconds(1), token), Is.Zero, "nobody was evicted for them");
            Assert.That(gate.RefusedAtPreAuthCap, Is.EqualTo(5));
            Assert.That(gate.Evicted, Is.Zero);

            var lone = await RawClient.ConnectAsync(RawClient.Source(7), port, token);
            newcomers.Add(lone);
            Assert.That(await RawClient.CountClosedAsync([lone], TimeSpan.FromSeconds(1), token), Is.Zero, "a lone client gets in at the cap");
            Assert.That(await RawClient.CountClosedAsync(held.GetRange(1, 7), TimeSpan.FromSeconds(2), token), Is.EqualTo(1), "by evicting one of the address holding the most");
        }
        finally
        {
            RawClient.DisposeAll(held);
            RawClient.DisposeAll(newcomers);
        }
    }

    private static async Task WaitForPreAuthAsync(Relay.Gateway.Edge.ConnectionGate gate, int count, CancellationToken token)
    {
        for (int i = 0; i < 200 && gate.PreAuth < count; i++)
        {
            await Task.Delay(25, token);
        }

        Assert.That(gate.PreAuth, Is.EqualTo(count));
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
    public void PreAuthCap_NewcomerEvictsTheOldestOfTheAddressHoldingTheMost_PerAddressCapStillRefuses()
    {
        var gate = new Relay.Gateway.Edge.ConnectionGate(new GatewayOptions { MaxConnections = 100, MaxPreAuthConnections = 5, MaxPreAuthConnectionsPerIp = 3 }, fileLimit: null);
        int refusals = 0;
        gate.Refused += _ => refusals++;
        IPAddress a = IPAddress.Parse("127.0.9.1"), b = IPAddress.Parse("127.0.9.2"), c = IPAddress.Parse("127.0.9.3");
        var lone = gate.TryEnterPreAuth(a)!;
        var many = new[] { gate.TryEnterPreAuth(b)!, gate.TryEnterPreAuth(b)!, gate.TryEnterPreAuth(b)! };
        Assert.That(gate.TryEnterPreAuth(b), Is.Null, "the per-address cap refuses");
        var second = gate.TryEnterPreAuth(c)!;
        Assert.That(gate.PreAuth, Is.EqualTo(5));

        var newcomer = gate.TryEnterPreAuth(IPAddress.Parse("127.0.9.4"));
        Assert.That(newcomer, Is.Not.Null, "at the pre-auth cap a newcomer is admitted");
        Assert.That(many.Select(s => s.Evicted), Is.EqualTo(new[] { true, false, false }), "the oldest of the address holding the most");
        Assert.That(lone.Evicted || second.Evicted, Is.False, "the oldest overall is not taken from a lone client");

        // b holds 2 now, still the most: it gives up its next oldest.
        Assert.That(gate.TryEnterPreAuth(IPAddress.Parse("127.0.9.5")), Is.Not.Null);
        Assert.That(many[1].Evicted, Is.True);
        Assert.That((gate.PreAuth, gate.Evicted, gate.RefusedPerIp, refusals), Is.EqualTo((5, 2L, 1L, 3)));

        // A slot given back (upgraded or closed) is no longer a candidate; an evicted slot's own release changes nothing.
        many[0].Dispose();
        newcomer!.Upgraded();
        Assert.That(gate.PreAuth, Is.EqualTo(4));
    }

    [Test]
    public void DefaultConnectionCap_StaysBelowTheOpenFileLimit()
    {
        long? limit = Relay.Contracts.Configuration.FileLimit.OpenFiles();
        if (limit is null)
        {
            Assert.Ignore("no open-file limit readable on this platform");
        }

        int cap = Relay.Gateway.Edge.ConnectionGate.EffectiveMaxConnections(new GatewayOptions(), limit);
        Assert.That(cap, Is.LessThanOrEqualTo(limit!.Value - Relay.Gateway.Edge.ConnectionGate.FileReserve).And.GreaterThan(0));
        Assert.That(Relay.Gateway.Edge.ConnectionGate.EffectiveMaxConnections(new GatewayOptions { MaxConnections = int.MaxValue }, limit), Is.EqualTo(cap), "a configured cap above the limit is lowered to it");
    }
}
