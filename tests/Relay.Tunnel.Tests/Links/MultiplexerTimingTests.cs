using System.IO.Pipelines;
using System.Text;
using System.Threading.Channels;
using Microsoft.Extensions.Time.Testing;

namespace Relay.Tunnel.Tests.Links;

/// <summary>
/// The multiplexer's timing over in-memory pipes on a fake clock: each test moves the clock itself and observes the
/// event (a link closed as dead, a stream expired, a measured round trip, a handshake given up), so none depends on
/// how busy the machine is.
/// </summary>
public class MultiplexerTimingTests
{
    private static readonly LinkOptions s_defaults = new();

    [Test]
    [CancelAfter(10_000)]
    public async Task SilentPeer_LinkClosedAsDead_OnceNothingArrivedForTheDeadLinkTimeout(CancellationToken token)
    {
        var time = new FakeTimeProvider();
        var core = new ScriptedCore(time);
        await using var pool = new LinkPool(InMemoryBackhaul.PoolOptions(time, links: 1, core.ConnectAsync));
        var (peer, link) = await StartAsync(pool, core, token);

        // The relay pings every 5 s; the core answers nothing.
        time.Advance(s_defaults.HeartbeatInterval);
        time.Advance(s_defaults.HeartbeatInterval);
        time.Advance(s_defaults.DeadLinkTimeout - (2 * s_defaults.HeartbeatInterval) - TimeSpan.FromSeconds(1));
        Assert.That(link.IsOpen, Is.True, "silent for less than the dead-link timeout");

        time.Advance(TimeSpan.FromSeconds(1) + TimeSpan.FromMilliseconds(250));
        Assert.That(await link.Completion.WaitAsync(token), Is.EqualTo(LinkCloseReason.Timeout));
        int pings = 0;
        while (await ScriptedCore.ReadFrameAsync(peer.Input, token) is { } frame)
        {
            Assert.That(frame.Kind, Is.EqualTo(FrameKind.Ping));
            pings++;
        }

        Assert.That(pings, Is.EqualTo(2), "pinged at 5 s and 10 s, then closed the connection");
    }

    [Test]
    [CancelAfter(10_000)]
    public async Task Pong_GivesTheRoundTripTime_OnTheFakeClock(CancellationToken token)
    {
        var time = new FakeTimeProvider();
        var core = new ScriptedCore(time);
        await using var pool = new LinkPool(InMemoryBackhaul.PoolOptions(time, links: 1, core.ConnectAsync));
        var (peer, link) = await StartAsync(pool, core, token);
        Assert.That(link.RoundTripTime, Is.Null, "no ping yet");

        time.Advance(s_defaults.HeartbeatInterval);
        var ping = await ScriptedCore.ReadFrameAsync(peer.Input, token);
        Assert.That(ping?.Kind, Is.EqualTo(FrameKind.Ping), "the heartbeat pings");

        time.Advance(TimeSpan.FromMilliseconds(40));
        FrameWriter.WritePing(peer.Output, FrameKind.Pong, ping!.Value.Value);
        await peer.Output.FlushAsync(token);

        await Eventually.HoldsAsync(() => link.RoundTripTime is not null, token);
        Assert.That(link.RoundTripTime, Is.EqualTo(TimeSpan.FromMilliseconds(40)));
        Assert.That(pool.Links().Single().RttMs, Is.EqualTo(40));
    }

    [Test]
    [CancelAfter(10_000)]
    public async Task LinkDies_StreamDetaches_ThenReattachesOnTheNextLinkWithinTheGrace(CancellationToken token)
    {
        await using var backhaul = await InMemoryBackhaul.StartAsync(token);
        var (relay, core) = await backhaul.OpenAcceptedAsync("a", token);

        Assert.That(backhaul.Pool.KillLink(0, 0), Is.True);
        await Eventually.HoldsAsync(() => relay.State == StreamState.Detached && core.State == StreamState.Detached, token);

        // The pool reconnects after its backoff (100 ms at most for a first attempt) and the stream re-attaches.
        var waited = await Eventually.AdvanceUntilAsync(backhaul.Time, TimeSpan.FromMilliseconds(50), () => backhaul.Pool.LinksUp == 1, token);
        Assert.That(waited, Is.LessThanOrEqualTo(TimeSpan.FromMilliseconds(100)), "first reconnect within the base delay");
        Assert.That(await relay.SendAsync("after"u8.ToArray(), true, token), Is.True);
        using (var after = await core.ReceiveAsync(token))
        {
            Assert.That(Encoding.UTF8.GetString(after.Data.Span), Is.EqualTo("after"), "the same core stream carries on");
        }

        Assert.That((relay.State, core.State), Is.EqualTo((StreamState.Attached, StreamState.Attached)));
        Assert.That((relay.CloseInfo, core.CloseInfo), Is.EqualTo(((StreamCloseInfo?)null, (StreamCloseInfo?)null)));
    }

    [Test]
    [CancelAfter(10_000)]
    public async Task LinkDies_CoreUnreachable_StreamExpiresOnBothSidesAfterTheGrace(CancellationToken token)
    {
        await using var backhaul = await InMemoryBackhaul.StartAsync(token);
        var (relay, core) = await backhaul.OpenAcceptedAsync("a", token);

        backhaul.CoreReachable = false;
        Assert.That(backhaul.Pool.KillLink(0, 0), Is.True);
        await Eventually.HoldsAsync(() => relay.State == StreamState.Detached && core.State == StreamState.Detached, token);

        backhaul.Time.Advance(s_defaults.DetachedStreamGrace - TimeSpan.FromSeconds(1));
        Assert.That((relay.State, core.State), Is.EqualTo((StreamState.Detached, StreamState.Detached)), "kept within the grace");

        backhaul.Time.Advance(TimeSpan.FromSeconds(1) + TimeSpan.FromMilliseconds(250));
        var relayEnd = await relay.Completion.WaitAsync(token);
        var coreEnd = await core.Completion.WaitAsync(token);
        Assert.That((relayEnd.Code, relayEnd.ByPeer), Is.EqualTo((StreamCodes.BackhaulLost, false)));
        Assert.That((coreEnd.Code, coreEnd.ByPeer), Is.EqualTo((StreamCodes.BackhaulLost, false)));
        Assert.That(backhaul.Pool.StreamCount, Is.Zero);
    }

    [Test]
    [CancelAfter(10_000)]
    public async Task SenderStallsAtTheWindow_AndResumesWhenTheReaderGivesCredit(CancellationToken token)
    {
        await using var backhaul = await InMemoryBackhaul.StartAsync(token);
        var relay = backhaul.Pool.OpenStream(Backhaul.Info("stall"));
        var chunk = new byte[s_defaults.MaxChunkSize];
        int perWindow = s_defaults.StreamWindow / chunk.Length;

        // A new stream may send one window; the core reads nothing yet: then the sender waits.
        for (int i = 0; i < perWindow; i++)
        {
            Assert.That(await relay.SendAsync(chunk, false, token), Is.True, $"message {i} is within the window");
        }

        var stalled = relay.SendAsync(chunk, false, token).AsTask();
        Assert.That(stalled.IsCompleted, Is.False, "no credit left: the send waits for the reader");

        // Reading gives credit back: the stalled message goes out and arrives last.
        var core = await backhaul.Listener.AcceptStreamAsync(token);
        for (int i = 0; i <= perWindow; i++)
        {
            using var message = await core.ReceiveAsync(token);
            Assert.That(message.Data.Length, Is.EqualTo(chunk.Length));
        }

        Assert.That(await stalled.WaitAsync(token), Is.True);
    }

    [Test]
    [CancelAfter(10_000)]
    public async Task Listener_PeerSaysNothing_HandshakeTimesOutAndTheConnectionCloses(CancellationToken token)
    {
        var time = new FakeTimeProvider();
        await using var listener = new LinkListener(new LinkListenerOptions { NodeId = "core-test", Link = InMemoryBackhaul.Options(time) });
        var (relayEnd, coreEnd) = DuplexPipe.CreatePair();
        var handshake = listener.AcceptLinkAsync(coreEnd, "silent", CancellationToken.None);

        // The listener's deadline for an unauthenticated peer (2 s), not the dialer's 10 s.
        time.Advance(new LinkListenerOptions().HandshakeTimeout - TimeSpan.FromMilliseconds(1));
        Assert.That(handshake.IsCompleted, Is.False, "still within the handshake deadline");

        time.Advance(TimeSpan.FromMilliseconds(1));
        await handshake.WaitAsync(token);
        Assert.That(await ScriptedCore.ReadFrameAsync(relayEnd.Input, token), Is.Null, "the listener closed the connection");
        Assert.That(listener.Relays(), Is.Empty);
    }

    [Test]
    [CancelAfter(10_000)]
    public async Task Pool_CoreNeverAnswersTheHello_HandshakeTimesOutAndTheConnectionCloses(CancellationToken token)
    {
        var time = new FakeTimeProvider();
        var connections = Channel.CreateUnbounded<IDuplexPipe>();
        await using var pool = new LinkPool(InMemoryBackhaul.PoolOptions(time, links: 1, (_, _) =>
        {
            var (relayEnd, coreEnd) = DuplexPipe.CreatePair();
            connections.Writer.TryWrite(coreEnd);
            return Task.FromResult<IDuplexPipe>(relayEnd);
        }));
        pool.Start();
        var core = await connections.Reader.ReadAsync(token);
        Assert.That((await ScriptedCore.ReadFrameAsync(core.Input, token))?.Kind, Is.EqualTo(FrameKind.Hello));

        time.Advance(s_defaults.HandshakeTimeout);
        Assert.That(await ScriptedCore.ReadFrameAsync(core.Input, token), Is.Null, "the pool gave up and closed the connection");
        Assert.That(pool.LinksUp, Is.Zero);

        // It tries again after its backoff (first step: 50-100 ms). The backoff's timer starts on the pool's thread a
        // moment after the connection closes: a single Advance could come first and wait forever (a CI run timed out).
        var again = connections.Reader.ReadAsync(token).AsTask();
        var waited = await Eventually.AdvanceUntilAsync(time, TimeSpan.FromMilliseconds(10), () => again.IsCompleted, token, maxSteps: 1000);
        Assert.That(await again, Is.Not.Null);
        Assert.That(waited, Is.GreaterThanOrEqualTo(TimeSpan.FromMilliseconds(50)), "not before the backoff's first step");
    }

    [Test]
    [CancelAfter(10_000)]
    public async Task WrongKey_LinkRefused_NoStreamReachesTheCore(CancellationToken token)
    {
        await using var backhaul = await InMemoryBackhaul.StartAsync(token, poolKey: Encoding.UTF8.GetBytes("a-different-key-0123456789abcdef"), waitForLinks: false);
        var stream = backhaul.Pool.OpenStream(Backhaul.Info("s"));

        // The first attempt's handshake ends (the clock stands still: no second attempt).
        await (await backhaul.Handshakes.Reader.ReadAsync(token)).WaitAsync(token);
        Assert.That(backhaul.Listener.Relays(), Is.Empty, "no link from the relay is registered");
        Assert.That((backhaul.Pool.LinksUp, stream.State), Is.EqualTo((0, StreamState.Pending)));

        await backhaul.Listener.DisposeAsync();
        Assert.That(async () => await backhaul.Listener.AcceptStreamAsync(token), Throws.InstanceOf<ChannelClosedException>(), "no stream reached the core");
    }

    /// <summary>The core's end played by the test: a real handshake, then only what the test writes.</summary>
    /// <summary>Starts a one-link pool against the scripted core; returns the core's end of the connection and the link.</summary>
    private static async Task<(IDuplexPipe Peer, Link Link)> StartAsync(LinkPool pool, ScriptedCore core, CancellationToken token)
    {
        pool.Start();
        var peer = await core.Ready.Task.WaitAsync(token);
        await pool.WaitForLinksAsync(1, token);
        return (peer, pool.LinkAt(0, 0)!);
    }

    private sealed class ScriptedCore(TimeProvider time)
    {
        public TaskCompletionSource<IDuplexPipe> Ready { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public Task<IDuplexPipe> ConnectAsync(System.Net.EndPoint endpoint, CancellationToken token)
        {
            var (relayEnd, coreEnd) = DuplexPipe.CreatePair();
            _ = HandshakeAsync(coreEnd);
            return Task.FromResult<IDuplexPipe>(relayEnd);
        }

        /// <summary>Reads the next frame's kind and value; null when the other side closed the connection.</summary>
        public static async Task<(FrameKind Kind, ulong Value)?> ReadFrameAsync(PipeReader input, CancellationToken token)
        {
            while (true)
            {
                var result = await input.ReadAsync(token);
                var buffer = result.Buffer;
                var status = FrameReader.TryReadFrame(ref buffer, 1 << 20, out var frame, out var error);
                Assert.That(status, Is.Not.EqualTo(FrameStatus.Error), error.ToString());
                if (status == FrameStatus.Frame)
                {
                    var read = (frame.Kind, frame.Value);
                    input.AdvanceTo(buffer.Start);
                    return read;
                }

                input.AdvanceTo(buffer.Start, buffer.End);
                if (status == FrameStatus.NeedMoreData && result.IsCompleted)
                {
                    return null;
                }
            }
        }

        private async Task HandshakeAsync(IDuplexPipe coreEnd)
        {
            var result = await LinkHandshake.AcceptAsync(coreEnd, InMemoryBackhaul.Options(time), "core-test", CancellationToken.None);
            Assert.That(result.Ok, Is.True, result.Error);
            Ready.TrySetResult(coreEnd);
        }
    }
}
