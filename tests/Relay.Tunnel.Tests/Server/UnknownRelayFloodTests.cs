using System.Net;
using System.Net.Sockets;
using Pipelines.Sockets.Unofficial;

namespace Relay.Tunnel.Tests.Server;

/// <summary>
/// Security review (backhaul, 2nd pass; was docs/known-gaps.md): the handshake admission's reserved slots helped only an
/// address a relay had authenticated from since the listener started. After a core restart (or for a relay that moved
/// or is new) no relay address was known: an idle flood from a few hundred source addresses held every slot open to
/// unknown addresses (MaxPendingHandshakes - ReservedHandshakes = 224) and the relay's connections were shed (0 of 20
/// got in). The relays' networks (<see cref="LinkListenerOptions.KnownNetworks"/>, core-sim's CoreSim:RelayNetworks)
/// are known from the start. Real loopback sockets from 127.0.1.x (flood), 127.0.2.x (the relays' network) and
/// 127.0.3.x (elsewhere), the listener's default limits. Bounded: 230 flood loops, 10,000 connects, 60 s.
/// </summary>
public class UnknownRelayFloodTests
{
    private const int FloodAddresses = 230;
    private const int Attempts = 20;

    [Test]
    [CancelAfter(60_000)]
    public async Task IdleFloodFromManyAddresses_RelayNotSeenSinceTheCoreStarted_FromAKnownNetwork_IsNotLockedOut(CancellationToken token)
    {
        await using var listener = new LinkListener(new LinkListenerOptions
        {
            EndPoint = new IPEndPoint(IPAddress.Loopback, 0),
            NodeId = "core-test",
            KnownNetworks = [IPNetwork.Parse("127.0.2.0/24")],
            Link = Links.Backhaul.Options(),
        });
        listener.Start();
        int port = listener.LocalEndPoint.Port;

        // Control: a relay outside the known networks that authenticated once before the flood (its address is known
        // from then on: reserved slots).
        var known = new IPAddress([127, 0, 3, 2]);
        Assert.That(await TryHandshakeAsync(known, port, "relay-known", token), Is.True, "the control relay connects before the flood");

        await using var flood = new IdleFlood(port, maxConnects: 10_000, shedPause: TimeSpan.FromMilliseconds(50));
        flood.Start([.. Enumerable.Range(1, FloodAddresses).Select(i => new IPAddress([127, 0, 1, (byte)i]))], token);
        await Task.Delay(TimeSpan.FromSeconds(3), token); // every slot open to unknown addresses taken, the flood reopening what the deadline closes

        // Each attempt from a relay address not seen since this core started (after a restart every relay's is such); one
        // that succeeds becomes known, so each attempt comes from a fresh one: the chance of a relay's first link. The
        // same from outside the known networks is the control: the flood keeps those out, as designed.
        int knownOk = 0, unknownOk = 0, elsewhereOk = 0;
        for (int i = 0; i < Attempts; i++)
        {
            var unknown = new IPAddress([127, 0, 2, (byte)(10 + i)]);
            unknownOk += await TryHandshakeAsync(unknown, port, $"relay-new-{i}", token) ? 1 : 0;
            knownOk += await TryHandshakeAsync(known, port, "relay-known", token) ? 1 : 0;
            elsewhereOk += await TryHandshakeAsync(new IPAddress([127, 0, 3, (byte)(10 + i)]), port, $"relay-elsewhere-{i}", token) ? 1 : 0;
            await Task.Delay(100, token);
        }

        TestContext.Out.WriteLine($"flood connects {flood.Connects}; known relay {knownOk}/{Attempts}; new relays' first attempts from 127.0.2.0/24 {unknownOk}/{Attempts}, from elsewhere {elsewhereOk}/{Attempts}");
        Assert.Multiple(() =>
        {
            Assert.That(knownOk, Is.GreaterThanOrEqualTo(Attempts - 2), "a relay whose address authenticated before gets reserved slots");
            Assert.That(unknownOk, Is.GreaterThanOrEqualTo(Attempts - 2), "relays not seen since the core started, from a known network, get reserved slots");
            Assert.That(elsewhereOk, Is.LessThanOrEqualTo(Attempts / 4), "the control: the flood does hold every open slot (else the two above prove nothing)");
        });
    }

    /// <summary>One handshake from <paramref name="source"/> with the shared key; true when it completed (READY verified).</summary>
    private static async Task<bool> TryHandshakeAsync(IPAddress source, int port, string relayId, CancellationToken token)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            socket.Bind(new IPEndPoint(source, 0));
            using var deadline = CancellationTokenSource.CreateLinkedTokenSource(token);
            deadline.CancelAfter(TimeSpan.FromSeconds(3));
            await socket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, port), deadline.Token);
            using var connection = SocketConnection.Create(socket);
            var result = await LinkHandshake.DialAsync(connection, Links.Backhaul.Options(), relayId, "test", deadline.Token);
            return result.Ok;
        }
        catch (Exception e) when (e is SocketException or OperationCanceledException or IOException or ObjectDisposedException && !token.IsCancellationRequested)
        {
            return false;
        }
        finally
        {
            socket.Dispose();
        }
    }
}
