using System.Net;

namespace Relay.Tunnel.Tests.Server;

/// <summary>
/// Issue 16 item 2 on real loopback sockets: idle connections from many source addresses (127.0.x.y), reopened when
/// closed, must not lock a configured relay out of the core. Bounded: 1,000 connections held, 6,000 opened at most, 60 s.
/// </summary>
public class HandshakeFloodTests
{
    private const int Held = 1_000;
    private const int Addresses = 60;

    [Test]
    [CancelAfter(60_000)]
    public async Task IdleFloodFromManyAddresses_RelayThatDroppedItsLinksReconnects_AndTheFloodIsClosedByTheDeadline(CancellationToken token)
    {
        await using var listener = new LinkListener(new LinkListenerOptions { EndPoint = new IPEndPoint(IPAddress.Loopback, 0), NodeId = "core-test", Link = Links.Backhaul.Options() });
        listener.Start();
        await using var pool = new LinkPool(new LinkPoolOptions
        {
            RelayId = "relay-test",
            Endpoints = [listener.LocalEndPoint.ToString()],
            LinksPerEndpoint = 2,
            ReconnectBaseDelay = TimeSpan.FromMilliseconds(50),
            ReconnectMaxDelay = TimeSpan.FromSeconds(1),
            Link = Links.Backhaul.Options(),
        });
        pool.Start();
        await pool.WaitForLinksAsync(2, token);

        await using var flood = new IdleFlood(listener.LocalEndPoint.Port, maxConnects: 6_000, shedPause: TimeSpan.Zero);
        var sources = Enumerable.Range(0, Held).Select(i => new IPAddress([127, 0, (byte)(1 + (i % Addresses / 250)), (byte)(1 + (i % Addresses % 250))])).ToList();
        var firstWave = flood.Start(sources, token);
        await flood.Opened.Task.WaitAsync(token);

        Assert.That(pool.KillAllLinks(), Is.EqualTo(2));
        using (var reconnect = CancellationTokenSource.CreateLinkedTokenSource(token))
        {
            reconnect.CancelAfter(TimeSpan.FromSeconds(20));
            await pool.WaitForLinksAsync(2, reconnect.Token);
        }

        Assert.That(pool.LinksUp, Is.EqualTo(2), "the relay got its links back during the flood");
        await Task.WhenAll(firstWave).WaitAsync(token);
        Assert.That(flood.FirstClosedByServer, Is.EqualTo(Held), "every idle connection of the first wave was closed by the listener");
    }
}
