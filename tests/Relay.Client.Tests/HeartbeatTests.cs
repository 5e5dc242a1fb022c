using System.Net;
using System.Threading.Channels;
using Relay.Client.Tests.Negotiate;
using Relay.Contracts.Control;
using Relay.Contracts.Regions;
using Relay.CoreSim;
using Relay.Testing;
using Relay.Testing.Network;
using Relay.Testing.Steering;

namespace Relay.Client.Tests;

/// <summary>
/// Liveness (issue 17, PROTOCOL.md "Liveness"): a path that goes silent (a black-hole proxy between the client and a real
/// gateway stops forwarding both ways and closes nothing) is noticed by the heartbeat (ping, no pong), and the session
/// resumes on the second real gateway with every message once, in order. Without the heartbeat the client waits forever.
/// </summary>
[TestFixture]
[NonParallelizable]
public sealed class HeartbeatTests
{
    private const string SharedKey = "Eq8iNmx8+BpPcEhyGnIsOgqZgN0JkD7IhTwEz5D0M78=";

    [Test]
    [CancelAfter(90_000)]
    public async Task SilentPath_FixedUrls_HeartbeatDeclaresItDead_ResumesOnTheNextUrl_EveryMessageOnceInOrder(CancellationToken ct)
    {
        await using var world = await World.StartAsync(ct);
        var changes = Channel.CreateUnbounded<RelayStateChange>();
        await using var client = new RelayClient(new RelayClientOptions
        {
            Urls = [world.ProxyUrl, world.SecondUrl],
            TokenProvider = _ => ValueTask.FromResult(world.Core.Tokens.Issue("v-heartbeat", "s1", "visitor", TimeSpan.FromHours(1)).Token),
            Heartbeat = TimeSpan.FromMilliseconds(500),
            HeartbeatTimeout = TimeSpan.FromSeconds(1),
            ReconnectBaseDelay = TimeSpan.FromMilliseconds(20),
            ReconnectMaxDelay = TimeSpan.FromMilliseconds(50),
        });
        client.StateChanged += c => changes.Writer.TryWrite(c);
        await client.ConnectAsync(ct);
        string session = client.SessionId!;
        Assert.That(world.Proxy.Accepted, Is.EqualTo(1), "the first connection goes through the proxy");

        await world.CutMidStreamAsync(client, ct);

        var states = new List<RelayStateChange>();
        while (changes.Reader.TryRead(out var c))
        {
            states.Add(c);
        }

        var left = states.First(c => c.State == RelayClientState.Reconnecting);
        var back = states.Last(c => c.State == RelayClientState.Connected);
        Assert.Multiple(() =>
        {
            Assert.That(left.Reason, Does.Contain("dead"), "the heartbeat ended the connection");
            Assert.That(back.Resumed, Is.True);
            Assert.That(back.SessionId, Is.EqualTo(session));
        });
    }

    [Test]
    [CancelAfter(90_000)]
    public async Task SilentPath_Negotiate_HeartbeatDeclaresItDead_NextCandidate_EveryMessageOnceInOrder(CancellationToken ct)
    {
        await using var world = await World.StartAsync(ct);
        using var negotiate = StaticJsonServer.Start(new NegotiateResponse("sg", "test: the first path goes silent", [
            new NegotiateRelay("cut", "sg", world.ProxyUrl.ToString(), 100, RelayStatus.Healthy, 0),
            new NegotiateRelay("gw-b", "syd", world.SecondUrl.ToString(), 100, RelayStatus.Healthy, 0)]).ToJson());

        // The dead connection was young (a failure): the client backs off, then resumes on the next candidate.
        await using var client = new RelayClient(new RelayClientOptions
        {
            NegotiateUrl = negotiate.Url,
            RaceAfter = TimeSpan.FromSeconds(10),
            TokenProvider = _ => ValueTask.FromResult(world.Core.Tokens.Issue("v-heartbeat-n", "s1", "visitor", TimeSpan.FromHours(1)).Token),
            Heartbeat = TimeSpan.FromMilliseconds(500),
            HeartbeatTimeout = TimeSpan.FromSeconds(1),
            ReconnectBaseDelay = TimeSpan.FromMilliseconds(20),
            ReconnectMaxDelay = TimeSpan.FromMilliseconds(50),
        });
        await client.ConnectAsync(ct);
        Assert.That(client.Steering?.RelayId, Is.EqualTo("cut"), "the first candidate");

        await world.CutMidStreamAsync(client, ct);

        Assert.That(client.Steering?.RelayId, Is.EqualTo("gw-b"), "the next candidate");
    }

    /// <summary>core-sim in process, two gateway processes, a black-hole proxy in front of the first.</summary>
    private sealed class World : IAsyncDisposable
    {
        private readonly GatewayProcess[] _gateways;

        private World(CoreSimHost core, GatewayProcess[] gateways, BlackHoleProxy proxy)
        {
            Core = core;
            _gateways = gateways;
            Proxy = proxy;
        }

        public CoreSimHost Core { get; }

        public BlackHoleProxy Proxy { get; }

        public Uri ProxyUrl => new($"ws://127.0.0.1:{Proxy.Endpoint.Port}/ws");

        public Uri SecondUrl => new($"ws://127.0.0.1:{_gateways[1].Port}/ws");

        public static async Task<World> StartAsync(CancellationToken ct)
        {
            if (Repo.MissingBuild() is { } missing)
            {
                Assert.Inconclusive(missing);
            }

            string dir = TempFolders.Create("relay-heartbeat-");
            string publicKey = Path.Combine(dir, "core-public.pem");
            var core = await CoreSimHost.StartAsync(o =>
            {
                o.BindAddress = "127.0.0.1";
                o.HttpPort = 0;
                o.BackhaulPort = 0;
                o.SharedKey = SharedKey;
                o.PublicKeyPath = publicKey;
            }, ct);
            var gateways = new[]
            {
                GatewayProcess.Start("gw-a", core.BackhaulPort, publicKey, SharedKey),
                GatewayProcess.Start("gw-b", core.BackhaulPort, publicKey, SharedKey),
            };
            foreach (var g in gateways)
            {
                await g.WaitReadyAsync(ct);
            }

            return new World(core, gateways, new BlackHoleProxy(new IPEndPoint(IPAddress.Loopback, gateways[0].Port)));
        }

        /// <summary>Echoes 20 messages, cuts the path once 10 are back, sends 20 more: all 40 come back once, in order.</summary>
        public async Task CutMidStreamAsync(RelayClient client, CancellationToken ct)
        {
            var received = new List<ChatMessage>();
            int count = 0;
            var reader = Task.Run(async () =>
            {
                await foreach (var m in client.ReadAllAsync(ct))
                {
                    received.Add(m);
                    Volatile.Write(ref count, received.Count);
                    if (received.Count == 40)
                    {
                        return;
                    }
                }
            }, ct);
            for (int i = 0; i < 20; i++)
            {
                await client.SendAsync($"m{i}", cancellationToken: ct);
            }

            for (int i = 0; i < 500 && Volatile.Read(ref count) < 10; i++)
            {
                await Task.Delay(20, ct);
            }

            Proxy.Cut();
            for (int i = 20; i < 40; i++)
            {
                await client.SendAsync($"m{i}", cancellationToken: ct);
            }

            await reader;
            Assert.Multiple(() =>
            {
                Assert.That(received.Select(m => m.Body), Is.EqualTo(Enumerable.Range(0, 40).Select(i => $"m{i}")), "every message once, in order");
                Assert.That(received.Select(m => m.Seq), Is.EqualTo(Enumerable.Range(1, 40).Select(i => (long)i)));
            });
        }

        public async ValueTask DisposeAsync()
        {
            Proxy.Dispose();
            foreach (var g in _gateways)
            {
                await g.DisposeAsync();
            }

            await Core.DisposeAsync();
        }
    }
}
