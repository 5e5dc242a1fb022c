using System.Net;
using System.Text;
using Relay.Testing.Backhaul;

namespace Relay.Tunnel.Tests.Links;

/// <summary>A real listener and pool on loopback sockets, with an echo service on the accepting side.</summary>
internal sealed class Backhaul : IAsyncDisposable
{
    public static readonly byte[] Key = Encoding.UTF8.GetBytes("test-shared-key-0123456789abcdef");
    private readonly CancellationTokenSource _stop = new();
    private readonly List<Task> _handlers = [];
    private Task? _acceptLoop;

    private Backhaul(LinkListener listener, LinkPool pool)
    {
        Listener = listener;
        Pool = pool;
    }

    public LinkListener Listener { get; }

    public LinkPool Pool { get; }

    public System.Collections.Concurrent.ConcurrentDictionary<ulong, MuxStream> CoreStreamsById { get; } = new();

    public IEnumerable<MuxStream> CoreStreams => CoreStreamsById.Values;

    public static LinkOptions Options(byte[]? key = null, int duplicateUpTo = 0, TimeSpan? duplicateAboveRtt = null) => new()
    {
        SharedKey = key ?? Key,
        DuplicateFramesUpTo = duplicateUpTo,
        // issue 22's tests: copies on every link unless a test says (loopback is near; issue 21 copies only on far links)
        DuplicateAboveRtt = duplicateAboveRtt ?? TimeSpan.Zero,
        HeartbeatInterval = TimeSpan.FromMilliseconds(500),
        DeadLinkTimeout = TimeSpan.FromSeconds(5),
        DetachedStreamGrace = TimeSpan.FromSeconds(30),
    };

    /// <summary>Starts a listener with an echo service and a pool of <paramref name="links"/> links to it.</summary>
    public static async Task<Backhaul> StartAsync(int links = 4, byte[]? poolKey = null, Func<MuxStream, CancellationToken, Task>? handler = null, bool waitForLinks = true, LinkOptions? listenerLink = null, System.Diagnostics.Metrics.IMeterFactory? poolMeters = null, int duplicateUpTo = 0, TimeSpan? duplicateAboveRtt = null, Action<LinkListenerOptions>? configureListener = null)
    {
        var listenerOptions = new LinkListenerOptions { EndPoint = new IPEndPoint(IPAddress.Loopback, 0), NodeId = "core-test", Link = listenerLink ?? Options(duplicateUpTo: duplicateUpTo, duplicateAboveRtt: duplicateAboveRtt) };
        configureListener?.Invoke(listenerOptions);
        var listener = new LinkListener(listenerOptions);
        listener.Start();
        var pool = new LinkPool(new LinkPoolOptions
        {
            RelayId = "relay-test",
            Region = "test",
            Endpoints = [listener.LocalEndPoint.ToString()],
            LinksPerEndpoint = links,
            ReconnectBaseDelay = TimeSpan.FromMilliseconds(50),
            ReconnectMaxDelay = TimeSpan.FromSeconds(1),
            Link = Options(poolKey, duplicateUpTo, duplicateAboveRtt),
            MeterFactory = poolMeters,
        });
        var backhaul = new Backhaul(listener, pool);
        backhaul._acceptLoop = Task.Run(() => backhaul.AcceptLoopAsync(handler ?? StreamEcho.RunAsync));
        pool.Start();
        if (waitForLinks)
        {
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(20));
            await pool.WaitForLinksAsync(links, cts.Token);
        }

        return backhaul;
    }

    public static OpenInfo Info(string key) => new(key, "127.0.0.1:1", OpenInfo.NoClaims);

    public async ValueTask DisposeAsync()
    {
        _stop.Cancel();
        await Pool.DisposeAsync();
        await Listener.DisposeAsync();
        if (_acceptLoop is not null)
        {
            await _acceptLoop;
        }

        await Task.WhenAll(_handlers).WaitAsync(TimeSpan.FromSeconds(10)).ContinueWith(_ => { });
        _stop.Dispose();
    }

    private async Task AcceptLoopAsync(Func<MuxStream, CancellationToken, Task> handler)
    {
        try
        {
            while (true)
            {
                var stream = await Listener.AcceptStreamAsync(_stop.Token);
                CoreStreamsById[stream.Id] = stream;
                lock (_handlers)
                {
                    _handlers.Add(Task.Run(async () =>
                    {
                        try
                        {
                            await handler(stream, _stop.Token);
                        }
                        catch (OperationCanceledException)
                        {
                        }
                    }));
                }
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or System.Threading.Channels.ChannelClosedException)
        {
        }
    }
}
