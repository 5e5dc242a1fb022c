using System.IO.Pipelines;
using System.Net;
using System.Threading.Channels;
using Microsoft.Extensions.Time.Testing;

namespace Relay.Tunnel.Tests.TestTransport;

/// <summary>
/// A link pool and a link listener joined by in-memory pipes, both on one <see cref="FakeTimeProvider"/>: heartbeats,
/// timeouts, grace periods and reconnect backoff move only when a test advances the clock.
/// </summary>
internal sealed class InMemoryBackhaul : IAsyncDisposable
{
    private volatile bool _coreReachable = true;

    private InMemoryBackhaul(FakeTimeProvider time, byte[]? poolKey, int links, int duplicateUpTo)
    {
        Time = time;
        Listener = new LinkListener(new LinkListenerOptions { NodeId = "core-test", Link = Options(time, duplicateUpTo: duplicateUpTo) });
        Pool = new LinkPool(PoolOptions(time, links, ConnectAsync, poolKey, duplicateUpTo));
    }

    public FakeTimeProvider Time { get; }

    public LinkListener Listener { get; }

    public LinkPool Pool { get; }

    /// <summary>The listener's handshake of each connection the pool made, in order; each ends when its link is up or refused.</summary>
    public Channel<Task> Handshakes { get; } = Channel.CreateUnbounded<Task>();

    /// <summary>False: the pool's connection attempts fail, as when the core is unreachable.</summary>
    public bool CoreReachable
    {
        get => _coreReachable;
        set => _coreReachable = value;
    }

    /// <summary>Link options with the defaults under test (5 s heartbeat, 15 s dead link, 10 s handshake, 30 s grace).</summary>
    public static LinkOptions Options(TimeProvider time, byte[]? key = null, int duplicateUpTo = 0) => new() { SharedKey = key ?? Links.Backhaul.Key, TimeProvider = time, DuplicateFramesUpTo = duplicateUpTo };

    public static LinkPoolOptions PoolOptions(TimeProvider time, int links, Func<EndPoint, CancellationToken, Task<IDuplexPipe>> connect, byte[]? key = null, int duplicateUpTo = 0) => new()
    {
        RelayId = "relay-test",
        Region = "test",
        Endpoints = ["core:7000"],
        LinksPerEndpoint = links,
        ReconnectBaseDelay = TimeSpan.FromMilliseconds(100),
        ReconnectMaxDelay = TimeSpan.FromSeconds(1),
        Link = Options(time, key, duplicateUpTo),
        Connect = connect,
    };

    public static async Task<InMemoryBackhaul> StartAsync(CancellationToken token, int links = 1, byte[]? poolKey = null, bool waitForLinks = true, int duplicateUpTo = 0)
    {
        var backhaul = new InMemoryBackhaul(new FakeTimeProvider(), poolKey, links, duplicateUpTo);
        backhaul.Listener.StartHeartbeat();
        backhaul.Pool.Start();
        if (waitForLinks)
        {
            await backhaul.Pool.WaitForLinksAsync(links, token);
        }

        return backhaul;
    }

    /// <summary>A stream opened from the relay, accepted by the core, with one message echoed (the core's ACCEPT has arrived).</summary>
    public async Task<(Streams.MuxStream Relay, Streams.MuxStream Core)> OpenAcceptedAsync(string key, CancellationToken token)
    {
        var relay = Pool.OpenStream(new OpenInfo(key, "127.0.0.1:1", OpenInfo.NoClaims));
        Assert.That(await relay.SendAsync("hello"u8.ToArray(), true, token), Is.True);
        var core = await Listener.AcceptStreamAsync(token);
        using (var hello = await core.ReceiveAsync(token))
        {
            Assert.That(await core.SendAsync(hello.Data, true, token), Is.True);
        }

        using (var echo = await relay.ReceiveAsync(token))
        {
            Assert.That(echo.Data.ToArray(), Is.EqualTo("hello"u8.ToArray()));
        }

        return (relay, core);
    }

    public async ValueTask DisposeAsync()
    {
        await Pool.DisposeAsync();
        await Listener.DisposeAsync();
    }

    private Task<IDuplexPipe> ConnectAsync(EndPoint endpoint, CancellationToken token)
    {
        if (!CoreReachable)
        {
            throw new IOException("core unreachable (test)");
        }

        var (relay, core) = DuplexPipe.CreatePair();
        Handshakes.Writer.TryWrite(Listener.AcceptLinkAsync(core, $"memory:{endpoint}", CancellationToken.None));
        return Task.FromResult<IDuplexPipe>(relay);
    }
}
