using System.Collections.Concurrent;
using System.Net;
using Relay.Tunnel.Tests.Links;
using Relay.Tunnel.Tests.TestTransport;

namespace Relay.Tunnel.Tests.Server;

/// <summary>
/// NEW_STREAMS: a core node that cannot take sessions (in cluster mode, cut off from its broker) tells its relays, and
/// they place new sessions on the next node of their ranking instead of sending every such user a 1013 from it (the
/// user's resume would rank the same node first and get another). Found as a "not done yet" of cluster mode.
/// </summary>
[Parallelizable(ParallelScope.None)]
public sealed class NewStreamsTests
{
    /// <summary>Two core nodes on loopback, each recording the streams it accepts, and one relay pool linked to both.</summary>
    private sealed class TwoNodes : IAsyncDisposable
    {
        private readonly CancellationTokenSource _stop = new();
        private readonly List<Task> _loops = [];

        private TwoNodes(bool aTakesNone)
        {
            A = Listen("core-a");
            B = Listen("core-b");
            if (aTakesNone)
            {
                A.SetTakesNewStreams(false, "broker unreachable");
            }

            Pool = new LinkPool(new LinkPoolOptions
            {
                RelayId = "relay-test",
                Region = "test",
                Endpoints = [A.LocalEndPoint.ToString(), B.LocalEndPoint.ToString()],
                LinksPerEndpoint = 2,
                ReconnectBaseDelay = TimeSpan.FromMilliseconds(50),
                ReconnectMaxDelay = TimeSpan.FromSeconds(1),
                Link = Backhaul.Options(),
            });
            Pool.Start();
        }

        /// <summary>Starts both nodes (A taking no new streams from the start when <paramref name="aTakesNone"/>) and
        /// the relay's pool, and waits for its four links.</summary>
        public static async Task<TwoNodes> StartAsync(CancellationToken token, bool aTakesNone = false)
        {
            var nodes = new TwoNodes(aTakesNone);
            await nodes.Pool.WaitForLinksAsync(4, token);
            return nodes;
        }

        public LinkListener A { get; }

        public LinkListener B { get; }

        public LinkPool Pool { get; }

        /// <summary>Stream keys each node accepted, by node id.</summary>
        public ConcurrentDictionary<string, ConcurrentQueue<string>> Accepted { get; } = new();

        /// <summary>A session key whose ranking puts node A first (each call a new one).</summary>
        public string KeyRankingAFirst()
        {
            string[] endpoints = [A.LocalEndPoint.ToString(), B.LocalEndPoint.ToString()];
            for (int i = _next; ; i++)
            {
                string key = "user-" + i;
                if (Relay.Tunnel.Pool.RendezvousHash.Rank(key, endpoints)[0] == 0)
                {
                    _next = i + 1;
                    return key;
                }
            }
        }

        private int _next;

        /// <summary>Opens a stream for <paramref name="key"/>, waits until a node accepts it and returns that node's id.</summary>
        public async Task<string> OpenAsync(string key, CancellationToken token)
        {
            _ = Pool.OpenStream(Backhaul.Info(key));
            await Eventually.HoldsAsync(() => Accepted.Any(kv => kv.Value.Contains(key)), token);
            return Accepted.Single(kv => kv.Value.Contains(key)).Key;
        }

        private LinkListener Listen(string node)
        {
            var listener = new LinkListener(new LinkListenerOptions { EndPoint = new IPEndPoint(IPAddress.Loopback, 0), NodeId = node, Link = Backhaul.Options() });
            listener.Start();
            var accepted = Accepted.GetOrAdd(node, _ => new ConcurrentQueue<string>());
            _loops.Add(Task.Run(async () =>
            {
                try
                {
                    while (true)
                    {
                        var stream = await listener.AcceptStreamAsync(_stop.Token);
                        accepted.Enqueue(stream.Info.SessionKey);
                    }
                }
                catch (Exception ex) when (ex is OperationCanceledException or System.Threading.Channels.ChannelClosedException)
                {
                }
            }));
            return listener;
        }

        public async ValueTask DisposeAsync()
        {
            _stop.Cancel();
            await Pool.DisposeAsync();
            await A.DisposeAsync();
            await B.DisposeAsync();
            await Task.WhenAll(_loops);
            _stop.Dispose();
        }
    }

    [Test]
    [CancelAfter(20_000)]
    public async Task ANodeThatTakesNoNewStreams_GetsNoNewSessions_TheNextNodeOfTheRankingDoes_UntilItTakesThemAgain(CancellationToken token)
    {
        await using var nodes = await TwoNodes.StartAsync(token);
        Assert.That(await nodes.OpenAsync(nodes.KeyRankingAFirst(), token), Is.EqualTo("core-a"), "the ranking's first node, while it takes streams");

        nodes.A.SetTakesNewStreams(false, "broker unreachable");
        await Eventually.HoldsAsync(() => !nodes.Pool.TakesNewStreams(0), token);
        Assert.That(await nodes.OpenAsync(nodes.KeyRankingAFirst(), token), Is.EqualTo("core-b"), "while A takes none");

        nodes.A.SetTakesNewStreams(true, string.Empty);
        await Eventually.HoldsAsync(() => nodes.Pool.TakesNewStreams(0), token);
        Assert.That(await nodes.OpenAsync(nodes.KeyRankingAFirst(), token), Is.EqualTo("core-a"), "once A takes them again");
    }

    [Test]
    [CancelAfter(20_000)]
    public async Task ALinkThatComesUpWhileTheNodeTakesNoNewStreams_IsToldAtOnce(CancellationToken token)
    {
        // A said it before the relay's links came up: each new link is told.
        await using var nodes = await TwoNodes.StartAsync(token, aTakesNone: true);
        await Eventually.HoldsAsync(() => !nodes.Pool.TakesNewStreams(0), token);
        Assert.That(await nodes.OpenAsync(nodes.KeyRankingAFirst(), token), Is.EqualTo("core-b"));

        // Every link to A goes down: the pool forgets what A said (the next link may reach a restarted process that takes
        // streams). A, still taking none, tells the new links again.
        nodes.Pool.KillLink(0, 0);
        nodes.Pool.KillLink(0, 1);
        await Eventually.HoldsAsync(() => nodes.Pool.Links().Count(l => l.Up) == 4 && !nodes.Pool.TakesNewStreams(0), token);
        Assert.That(await nodes.OpenAsync(nodes.KeyRankingAFirst(), token), Is.EqualTo("core-b"));
    }

    [Test]
    [CancelAfter(20_000)]
    public async Task WhenNoNodeTakesNewStreams_TheRankingsFirstStillGetsThem(CancellationToken token)
    {
        await using var nodes = await TwoNodes.StartAsync(token);
        nodes.A.SetTakesNewStreams(false, "broker unreachable");
        nodes.B.SetTakesNewStreams(false, "broker unreachable");
        await Eventually.HoldsAsync(() => !nodes.Pool.TakesNewStreams(0) && !nodes.Pool.TakesNewStreams(1), token);

        // A broker outage reaches every node: the sessions go where they would have gone, which answers as it can.
        Assert.That(await nodes.OpenAsync(nodes.KeyRankingAFirst(), token), Is.EqualTo("core-a"));
    }
}
