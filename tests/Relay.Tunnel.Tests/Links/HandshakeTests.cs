using System.IO.Pipelines;
using System.Security.Cryptography;
using Microsoft.Extensions.Time.Testing;

namespace Relay.Tunnel.Tests.Links;

/// <summary>
/// The link handshake (protocol v2): the relay proves its key first; the core answers with its own proof only after
/// verifying the relay's, so a peer without the key learns nothing it could test key guesses against; each relay
/// proves its own key, so a relay cannot pose as another.
/// </summary>
public class HandshakeTests
{
    [Test]
    [CancelAfter(10_000)]
    public async Task Listener_PeerWithoutTheKey_GetsNoProofBearingByte(CancellationToken token)
    {
        var time = new FakeTimeProvider();
        await using var listener = new LinkListener(new LinkListenerOptions { NodeId = "core-test", Link = InMemoryBackhaul.Options(time) });
        var (peer, coreEnd) = DuplexPipe.CreatePair();
        var handshake = listener.AcceptLinkAsync(coreEnd, "guesser", CancellationToken.None);

        FrameWriter.WriteHello(peer.Output, new HelloInfo(LinkOptions.ProtocolVersion, "relay-test", "test", RandomNumberGenerator.GetBytes(32), 65536));
        await peer.Output.FlushAsync(token);
        var challenge = await ReadAsync(peer.Input, token);
        Assert.That(challenge?.Kind, Is.EqualTo(FrameKind.Challenge));
        Assert.That(((HelloInfo)challenge!.Value.Body!).Nonce, Has.Length.EqualTo(32), "the challenge: the core's nonce, and no proof of its key");

        FrameWriter.WriteProof(peer.Output, RandomNumberGenerator.GetBytes(32));
        await peer.Output.FlushAsync(token);
        var answer = await ReadAsync(peer.Input, token);
        Assert.That(answer?.Kind, Is.EqualTo(FrameKind.GoAway), "a wrong proof gets a refusal, not READY");
        Assert.That(await ReadAsync(peer.Input, token), Is.Null, "then the connection closes");
        await handshake.WaitAsync(token);
        Assert.That(listener.Relays(), Is.Empty);
    }

    [Test]
    [CancelAfter(10_000)]
    public async Task Dialer_CoreAnswersReadyWithoutTheKey_IsRefused(CancellationToken token)
    {
        var time = new FakeTimeProvider();
        var (relayEnd, core) = DuplexPipe.CreatePair();
        var dial = LinkHandshake.DialAsync(relayEnd, InMemoryBackhaul.Options(time), "relay-test", "test", token);

        Assert.That((await ReadAsync(core.Input, token))?.Kind, Is.EqualTo(FrameKind.Hello));
        FrameWriter.WriteChallenge(core.Output, new HelloInfo(LinkOptions.ProtocolVersion, "fake-core", string.Empty, RandomNumberGenerator.GetBytes(32), 65536));
        await core.Output.FlushAsync(token);
        Assert.That((await ReadAsync(core.Input, token))?.Kind, Is.EqualTo(FrameKind.Proof));
        FrameWriter.WriteReady(core.Output, RandomNumberGenerator.GetBytes(32));
        await core.Output.FlushAsync(token);

        var result = await dial.WaitAsync(token);
        Assert.That((result.Ok, result.Failure), Is.EqualTo((false, LinkCloseReason.AuthenticationFailed)));
    }

    [Test]
    [CancelAfter(10_000)]
    public async Task Listener_RelayPosingAsAnother_IsRefused_AndEachRelayIsKnownByItsOwnKey(CancellationToken token)
    {
        var time = new FakeTimeProvider();
        byte[] keyA = RandomNumberGenerator.GetBytes(32), keyB = RandomNumberGenerator.GetBytes(32);
        var keyring = new Dictionary<string, byte[]> { ["relay-a"] = keyA, ["relay-b"] = keyB };
        await using var listener = new LinkListener(new LinkListenerOptions
        {
            NodeId = "core-test",
            Link = new LinkOptions { TimeProvider = time },
            KeyForRelay = id => keyring.GetValueOrDefault(id),
        });

        Assert.That((await DialAsync(listener, "relay-a", keyB, time, token)).Ok, Is.False, "relay-b's key does not open relay-a's link");
        Assert.That((await DialAsync(listener, "relay-c", keyB, time, token)).Ok, Is.False, "an id the keyring does not hold is refused");
        Assert.That(listener.Relays(), Is.Empty);

        var own = await DialAsync(listener, "relay-b", keyB, time, token);
        Assert.That((own.Ok, own.PeerId), Is.EqualTo((true, "core-test")), own.Error);
        Assert.That(listener.Relays().Select(r => r.RelayId), Is.EqualTo(new[] { "relay-b" }));
    }

    [Test]
    [CancelAfter(10_000)]
    public async Task Listener_ARelayBeyondItsMostLinks_GetsItsNewLinkClosed(CancellationToken token)
    {
        // A review found no limit: one relay (its key stolen, or a bug) could hold links until the core ran out of files.
        var time = new FakeTimeProvider();
        byte[] key = RandomNumberGenerator.GetBytes(32);
        await using var listener = ListenerForRelayA(key, time, o => o.MaxLinksPerRelay = 2);

        for (int i = 0; i < 3; i++)
        {
            await DialAsync(listener, "relay-a", key, time, token);
        }

        Assert.That(listener.Relays().Single().Links, Is.EqualTo(2));
    }

    [Test]
    [CancelAfter(10_000)]
    public async Task Link_PeerThatPingsAndDoesNotRead_QueuesOnePongAtMost(CancellationToken token)
    {
        // A review found a frame queued per ping: a peer that floods pings and never reads grew the link's queue without end.
        var (listener, relayEnd, link) = await SmallPipeLinkAsync(token);
        await using var owned = listener;

        // The relay's end reads nothing from here on: the core's pongs fill the pipe, then wait in the link's queue.
        for (int i = 0; i < 20_000; i++)
        {
            FrameWriter.WritePing(relayEnd.Output, FrameKind.Ping, (ulong)i);
            if (i % 100 == 99)
            {
                await relayEnd.Output.FlushAsync(token);
            }
        }

        await relayEnd.Output.FlushAsync(token);
        await Eventually.HoldsAsync(() => link.PingsReceived >= 20_000, token);
        // The pipe takes about 4 KiB of pongs (11 bytes each) before the core's writer waits; every pong after that waits
        // in the queue, one at most. Before, all 20,000 were queued.
        Assert.That(link.PongsQueued, Is.LessThan(2_000));
    }

    [Test]
    public void LinkKey_Generate_IsBase64OfThirtyTwoRandomBytes_AndTheDevelopmentKeyOnlyInDevelopment()
    {
        string key = LinkKey.Generate();
        Assert.That(Convert.FromBase64String(key), Has.Length.EqualTo(32));
        Assert.That(LinkKey.Generate(), Is.Not.EqualTo(key));
        Assert.That(LinkKey.TryParse(key, development: false, out var bytes, out _), Is.True);
        Assert.That(bytes, Is.EqualTo(Convert.FromBase64String(key)));

        Assert.That(LinkKey.TryParse(LinkKey.DevelopmentKey, development: false, out _, out var error), Is.False);
        Assert.That(error, Does.Contain("Development"));
        Assert.That(LinkKey.TryParse(LinkKey.DevelopmentKey, development: true, out _, out _), Is.True);
        Assert.That(LinkKey.TryParse(Convert.ToBase64String(new byte[16]), development: false, out _, out _), Is.False, "16 bytes is too short");
    }

    /// <summary>A core's listener that knows one relay, relay-a, by <paramref name="key"/>.</summary>
    /// <summary>
    /// A listener and one link of relay-a, handshake done, over a pipe that takes about 4 KiB before its writer waits (the
    /// core flushes every KiB): the relay's end, and the core's link, for a relay that stops reading.
    /// </summary>
    internal static async Task<(LinkListener Listener, IDuplexPipe RelayEnd, Link Link)> SmallPipeLinkAsync(CancellationToken token)
    {
        var time = new FakeTimeProvider();
        byte[] key = RandomNumberGenerator.GetBytes(32);
        var listener = ListenerForRelayA(key, time, o => o.Link.FlushThreshold = 1024);
        var (relayEnd, coreEnd) = DuplexPipe.CreatePair(pauseWriterThreshold: 4096);
        var accept = listener.AcceptLinkAsync(coreEnd, "relay-a", CancellationToken.None);
        var dialed = await LinkHandshake.DialAsync(relayEnd, InMemoryBackhaul.Options(time, key), "relay-a", "test", token);
        Assert.That(dialed.Ok, Is.True, dialed.Error);
        await accept.WaitAsync(token);
        return (listener, relayEnd, listener.LinksOf("relay-a").Single());
    }

    internal static LinkListener ListenerForRelayA(byte[] key, TimeProvider time, Action<LinkListenerOptions>? configure = null)
    {
        var options = new LinkListenerOptions { NodeId = "core-test", Link = new LinkOptions { TimeProvider = time }, KeyForRelay = id => id == "relay-a" ? key : null };
        configure?.Invoke(options);
        return new LinkListener(options);
    }

    private static async Task<LinkHandshake.Result> DialAsync(LinkListener listener, string relayId, byte[] key, TimeProvider time, CancellationToken token)
    {
        var (relayEnd, coreEnd) = DuplexPipe.CreatePair();
        var accept = listener.AcceptLinkAsync(coreEnd, relayId, CancellationToken.None);
        var result = await LinkHandshake.DialAsync(relayEnd, InMemoryBackhaul.Options(time, key), relayId, "test", token);
        await accept.WaitAsync(token);
        return result;
    }

    /// <summary>The next frame (its body decoded), or null when the other side closed the connection.</summary>
    internal static async Task<Frame?> ReadAsync(PipeReader input, CancellationToken token)
    {
        while (true)
        {
            var result = await input.ReadAsync(token);
            var buffer = result.Buffer;
            var status = FrameReader.TryReadFrame(ref buffer, 4096, out var frame, out var error);
            Assert.That(status, Is.Not.EqualTo(FrameStatus.Error), error.ToString());
            if (status == FrameStatus.Frame)
            {
                var read = new Frame(frame.Kind, body: frame.Body);
                input.AdvanceTo(buffer.Start);
                return read;
            }

            input.AdvanceTo(buffer.Start, buffer.End);
            if (result.IsCompleted)
            {
                return null;
            }
        }
    }
}
