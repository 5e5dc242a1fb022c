using System.IO.Pipelines;
using System.Runtime.CompilerServices;
using System.Security.Cryptography;
using System.Threading.Channels;
using Microsoft.Extensions.Time.Testing;
using Relay.Tunnel.Tests.Links;
using Relay.Tunnel.Tests.TestTransport;

namespace Relay.Tunnel.Tests.Server;

/// <summary>What a relay's frames may make the core do: an ATTACH is a re-attach after a lost link, nothing more.</summary>
public class AttachAbuseTests
{
    [Test]
    [CancelAfter(10_000)]
    public async Task AttachOnTheStreamsOwnLink_ResendsNothing(CancellationToken token)
    {
        // A review found every ATTACH answered by a resend of all the stream held: 13 bytes from the relay, up to the
        // whole window from the core, as often as the relay liked.
        var time = new FakeTimeProvider();
        byte[] key = RandomNumberGenerator.GetBytes(32);
        await using var listener = HandshakeTests.ListenerForRelayA(key, time);
        var relayEnd = await DialRelayAAsync(listener, InMemoryBackhaul.Options(time, key), token);

        FrameWriter.WriteOpen(relayEnd.Output, 1, new OpenInfo("s", "127.0.0.1:1", OpenInfo.NoClaims));
        await relayEnd.Output.FlushAsync(token);
        var core = await listener.AcceptStreamAsync(token);
        for (int i = 0; i < 10; i++)
        {
            Assert.That(await core.SendAsync(new byte[] { 1, 2, 3 }, true, token), Is.True);
        }

        // The relay acknowledges nothing (the core keeps all ten for a re-attach), then asks to re-attach 100 times on
        // the same link, then pings: everything the core queues for those ATTACHs comes before the pong.
        for (int i = 0; i < 100; i++)
        {
            FrameWriter.WriteAck(relayEnd.Output, FrameKind.Attach, 1, 0, 1 << 20);
        }

        FrameWriter.WritePing(relayEnd.Output, FrameKind.Ping, 7);
        await relayEnd.Output.FlushAsync(token);
        int data = 0;
        while (await HandshakeTests.ReadAsync(relayEnd.Input, token) is { } frame && frame.Kind != FrameKind.Pong)
        {
            data += frame.Kind == FrameKind.Data ? 1 : 0;
        }

        Assert.That(data, Is.EqualTo(10), "the ten messages once, no resend");
    }

    [Test]
    [CancelAfter(10_000)]
    public async Task CreditBeyondTheWindow_CoreHoldsAtMostAWindowUnacknowledged(CancellationToken token)
    {
        // A review found that the core trusted any credit a relay granted: a relay that raises its credit without
        // acknowledging anything made the core keep every byte the stream's application sent, a window's worth at most
        // only while the relay was honest. The core now holds at most the relay's window of unacknowledged data.
        var time = new FakeTimeProvider();
        byte[] key = RandomNumberGenerator.GetBytes(32);
        await using var listener = HandshakeTests.ListenerForRelayA(key, time);
        var options = InMemoryBackhaul.Options(time, key);
        var relayEnd = await DialRelayAAsync(listener, options, token);

        FrameWriter.WriteOpen(relayEnd.Output, 1, new OpenInfo("s", "127.0.0.1:1", OpenInfo.NoClaims));
        await relayEnd.Output.FlushAsync(token);
        var core = await listener.AcceptStreamAsync(token);

        // Credit for 64 windows, nothing acknowledged (seq 0); the pong says the core has read the ACK.
        FrameWriter.WriteAck(relayEnd.Output, FrameKind.Ack, 1, 0, 64UL * (ulong)options.StreamWindow);
        FrameWriter.WritePing(relayEnd.Output, FrameKind.Ping, 7);
        await relayEnd.Output.FlushAsync(token);
        while (await HandshakeTests.ReadAsync(relayEnd.Input, token) is { } frame && frame.Kind != FrameKind.Pong)
        {
        }

        // Each send the core's application makes completes at once while the stream may send; the first that has to
        // wait stops the count (no clock needed). A relay that reads nothing and acknowledges nothing keeps it waiting.
        var message = new byte[options.MaxChunkSize];
        long sent = 0;
        for (int i = 0; i < 4 * options.StreamWindow / message.Length && core.SendAsync(message, false, token).IsCompletedSuccessfully; i++)
        {
            sent += message.Length;
        }

        Assert.That(sent, Is.EqualTo(options.StreamWindow), "one window of unacknowledged data, whatever credit the relay grants");
    }

    [Test]
    [CancelAfter(20_000)]
    public async Task AttachesAlternatingBetweenTwoLinks_ResendAtMostFourTimesTheStreamsDataAndAWindow_ThenTheStreamEnds(CancellationToken token)
    {
        // A relay with two links can move a stream back and forth without acknowledging anything: each ATTACH is a
        // real move, so the core resends all the stream holds. A review found no end to it (13 bytes for up to a
        // window). The core now resends a stream at most four times what the stream ever sent plus one window; beyond
        // that, an ATTACH ends the stream with REFUSE 1011 (the client resumes its session, as after any lost stream).
        var time = new FakeTimeProvider();
        byte[] key = RandomNumberGenerator.GetBytes(32);
        await using var listener = HandshakeTests.ListenerForRelayA(key, time);
        var options = InMemoryBackhaul.Options(time, key);
        var links = new (IDuplexPipe Pipe, Channel<Frame> Control, StrongBox<long> DataBytes)[2];
        for (int i = 0; i < links.Length; i++)
        {
            links[i] = (await DialRelayAAsync(listener, options, token), Channel.CreateUnbounded<Frame>(), new StrongBox<long>());
            _ = CountFramesAsync(links[i].Pipe.Input, links[i].Control, links[i].DataBytes, token);
        }

        FrameWriter.WriteOpen(links[0].Pipe.Output, 1, new OpenInfo("s", "127.0.0.1:1", OpenInfo.NoClaims));
        await links[0].Pipe.Output.FlushAsync(token);
        var core = await listener.AcceptStreamAsync(token);
        var message = new byte[options.MaxChunkSize];
        const int Messages = 4;
        for (int i = 0; i < Messages; i++)
        {
            Assert.That(await core.SendAsync(message, false, token), Is.True);
        }

        long sent = Messages * message.Length;
        Frame? refused = null;
        int moves = 0;
        for (; moves < 100 && refused is null; moves++)
        {
            var link = links[(moves + 1) % 2];
            FrameWriter.WriteAck(link.Pipe.Output, FrameKind.Attach, 1, 0, (ulong)options.StreamWindow);
            await link.Pipe.Output.FlushAsync(token);
            var answer = await link.Control.Reader.ReadAsync(token);
            Assert.That(answer.Kind, Is.EqualTo(FrameKind.Attached).Or.EqualTo(FrameKind.Refuse));
            refused = answer.Kind == FrameKind.Refuse ? answer : null;
        }

        Assert.That(refused, Is.Not.Null, $"the core still re-attached after {moves} moves");
        Assert.That(refused!.Value.Code, Is.EqualTo(StreamCodes.BackhaulLost));
        Assert.That((await core.Completion.WaitAsync(token)).Code, Is.EqualTo(StreamCodes.BackhaulLost), "the core's side ends too");
        long resent = links.Sum(l => Volatile.Read(ref l.DataBytes.Value)) - sent;
        Assert.That(resent, Is.LessThanOrEqualTo(4 * sent + options.StreamWindow), $"resent after {moves} moves");
        Assert.That(resent, Is.GreaterThanOrEqualTo(4 * sent), "an honest relay's re-attaches are all answered up to the budget");
    }

    [Test]
    [CancelAfter(10_000)]
    public async Task OpenWithFieldsOverTheLimits_IsRefusedWith1008_AndTheLinkStaysUp(CancellationToken token)
    {
        // A review found OPEN's strings unbounded but by the frame (256 KiB): the core kept a stream's session key and
        // client address for the stream's life, so a relay could make it hold ~0.5 MB per stream, 250,000 streams.
        var time = new FakeTimeProvider();
        byte[] key = RandomNumberGenerator.GetBytes(32);
        await using var listener = HandshakeTests.ListenerForRelayA(key, time);
        var relayEnd = await DialRelayAAsync(listener, InMemoryBackhaul.Options(time, key), token);
        var claims = new Dictionary<string, string> { ["sub"] = "v1", ["site"] = "s1" };
        var oversized = new[]
        {
            new OpenInfo(new string('k', OpenInfo.MaxChars + 1), "127.0.0.1:1", claims),
            new OpenInfo("s1/v1", new string('a', OpenInfo.MaxChars + 1), claims),
            new OpenInfo("s1/v1", "127.0.0.1:1", new Dictionary<string, string> { ["sub"] = new string('v', OpenInfo.MaxChars + 1) }),
            new OpenInfo("s1/v1", "127.0.0.1:1", Enumerable.Range(0, 8).ToDictionary(i => $"c{i}", _ => new string('v', (OpenInfo.MaxChars / 8) + 1))),
        };
        for (int i = 0; i < oversized.Length; i++)
        {
            FrameWriter.WriteOpen(relayEnd.Output, (ulong)(i + 1), oversized[i]);
        }

        FrameWriter.WriteOpen(relayEnd.Output, 99, new OpenInfo("s1/v1", "127.0.0.1:1", claims));
        await relayEnd.Output.FlushAsync(token);

        var control = Channel.CreateUnbounded<Frame>();
        _ = CountFramesAsync(relayEnd.Input, control, new StrongBox<long>(), token);
        var refused = new List<(ulong, int)>();
        while (refused.Count < oversized.Length)
        {
            var frame = await control.Reader.ReadAsync(token);
            refused.Add((frame.StreamId, frame.Code));
        }

        Assert.That(refused, Is.EqualTo(new[] { (1UL, 1008), (2UL, 1008), (3UL, 1008), (4UL, 1008) }), "each oversized OPEN is refused (policy), the link stays up");
        var accepted = await listener.AcceptStreamAsync(token);
        Assert.That(accepted.Id, Is.EqualTo(99UL), "only the OPEN within the limits opens a stream");
    }

    /// <summary>A link of relay-a, handshake done: the relay's end.</summary>
    internal static async Task<IDuplexPipe> DialRelayAAsync(LinkListener listener, LinkOptions options, CancellationToken token)
    {
        var (relayEnd, coreEnd) = DuplexPipe.CreatePair();
        var accept = listener.AcceptLinkAsync(coreEnd, "relay-a", CancellationToken.None);
        var dialed = await LinkHandshake.DialAsync(relayEnd, options, "relay-a", "test", token);
        Assert.That(dialed.Ok, Is.True, dialed.Error);
        await accept.WaitAsync(token);
        return relayEnd;
    }

    /// <summary>Reads a relay end's frames: counts DATA payload bytes, passes every ATTACHED and REFUSE on.</summary>
    private static async Task CountFramesAsync(PipeReader input, Channel<Frame> control, StrongBox<long> dataBytes, CancellationToken token)
    {
        while (true)
        {
            var result = await input.ReadAsync(token);
            var buffer = result.Buffer;
            while (FrameReader.TryReadFrame(ref buffer, 1 << 20, out var frame, out _) == FrameStatus.Frame)
            {
                if (frame.Kind == FrameKind.Data)
                {
                    Interlocked.Add(ref dataBytes.Value, frame.Payload.Length);
                }
                else if (frame.Kind is FrameKind.Attached or FrameKind.Refuse)
                {
                    control.Writer.TryWrite(new Frame(frame.Kind, frame.StreamId, frame.Seq, frame.Value, code: frame.Code, body: frame.Body));
                }
            }

            input.AdvanceTo(buffer.Start, buffer.End);
            if (result.IsCompleted)
            {
                return;
            }
        }
    }

    /// <summary>
    /// What the core keeps for a relay that reads nothing and acknowledges nothing: per stream, at most its own window,
    /// whatever window the relay announces in its HELLO. Until stop 42 the relay's window (clamped only to 64 MiB) decided
    /// it, across up to 250,000 streams per relay (found by a security review).
    /// </summary>
    [Test]
    [CancelAfter(30_000)]
    public async Task RelayAnnouncingAHugeWindow_CoreKeepsAtMostItsOwnWindowUnacknowledgedPerStream(CancellationToken token)
    {
        var time = new FakeTimeProvider();
        byte[] key = RandomNumberGenerator.GetBytes(32);
        await using var listener = HandshakeTests.ListenerForRelayA(key, time);
        int coreWindow = new LinkOptions().StreamWindow; // the listener's (default) window: 256 KiB

        // The relay says it takes 64 MiB per stream (the clamp's top), then reads nothing and acknowledges nothing.
        var relayOptions = InMemoryBackhaul.Options(time, key);
        relayOptions.StreamWindow = 64 * 1024 * 1024;
        var relayEnd = await AttachAbuseTests.DialRelayAAsync(listener, relayOptions, token);
        FrameWriter.WriteOpen(relayEnd.Output, 1, new OpenInfo("s", "127.0.0.1:1", OpenInfo.NoClaims));
        await relayEnd.Output.FlushAsync(token);
        var core = await listener.AcceptStreamAsync(token);

        // Each send that completes at once was taken and retained (a copy per stream); the first that waits stops the
        // count. Bounded: 80 MiB at most.
        var message = new byte[16 * 1024];
        long kept = 0;
        for (int i = 0; i < 80 * 64 && core.SendAsync(message, false, token).IsCompletedSuccessfully; i++)
        {
            kept += message.Length;
        }

        TestContext.Out.WriteLine($"the core keeps {kept / 1024} KiB unacknowledged on one stream for this relay (its own window: {coreWindow / 1024} KiB); x {new LinkListenerOptions().MaxStreamsPerRelay:N0} streams per relay");
        Assert.That(kept, Is.LessThanOrEqualTo(coreWindow), "what the core retains per stream is its own window at most");
    }
}
