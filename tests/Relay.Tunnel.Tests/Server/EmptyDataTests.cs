using System.IO.Pipelines;
using System.Security.Cryptography;
using Microsoft.Extensions.Time.Testing;
using Relay.Tunnel.Tests.Links;
using Relay.Tunnel.Tests.TestTransport;

namespace Relay.Tunnel.Tests.Server;

/// <summary>
/// Empty DATA frames (tunnel/Protocol/README.md "Flow control"): a review found them free of the window, so a relay could
/// queue empty messages on a stream whose application did not read, without bound, or feed the core frames that carry
/// nothing and end nothing. An empty message now costs one byte of the window; an empty frame that does not end a
/// message is a protocol error.
/// </summary>
public class EmptyDataTests
{
    private const int Window = 4096;

    [Test]
    [CancelAfter(10_000)]
    public async Task EmptyDataFrameThatEndsNoMessage_ClosesTheLink(CancellationToken token)
    {
        var (listener, relayEnd, _) = await OpenStreamAsync(smallWindow: false, token);
        await using var owned = listener;

        // Never sent by an honest sender (SendAsync's only empty chunk is an empty message, which ends it).
        FrameWriter.WriteData(relayEnd.Output, 1, 1, DataFlags.Text, ReadOnlySpan<byte>.Empty);
        Assert.That(await PingAnsweredAsync(relayEnd, 7, token), Is.False, "the link is closed before the ping is answered");
    }

    [Test]
    [CancelAfter(20_000)]
    public async Task EmptyMessagesTheApplicationDoesNotRead_PassingTheWindow_CloseTheLink(CancellationToken token)
    {
        var (listener, relayEnd, _) = await OpenStreamAsync(smallWindow: true, token);
        await using var owned = listener;

        // Up to the window: taken (the core's application reads none of them).
        for (ulong seq = 1; seq <= Window; seq++)
        {
            FrameWriter.WriteData(relayEnd.Output, 1, seq, DataFlags.Text | DataFlags.EndOfMessage, ReadOnlySpan<byte>.Empty);
        }

        Assert.That(await PingAnsweredAsync(relayEnd, 7, token), Is.True, "a window of empty messages is within the window");

        // One more is beyond it, as a byte beyond the window is (before, the core queued empty messages without end).
        FrameWriter.WriteData(relayEnd.Output, 1, Window + 1, DataFlags.Text | DataFlags.EndOfMessage, ReadOnlySpan<byte>.Empty);
        Assert.That(await PingAnsweredAsync(relayEnd, 8, token), Is.False, "empty messages past the window close the link");
    }

    [Test]
    [CancelAfter(10_000)]
    public async Task EmptyMessages_TakeOneByteOfCreditEach(CancellationToken token)
    {
        // The sender's half: an empty message costs the byte the receiver charges, so an honest sender never passes the
        // receiver's window with them.
        var (listener, _, core) = await OpenStreamAsync(smallWindow: true, token);
        await using var owned = listener;

        int sent = 0;
        for (int i = 0; i < 2 * Window && core.SendAsync(ReadOnlyMemory<byte>.Empty, true, token).IsCompletedSuccessfully; i++)
        {
            sent++;
        }

        Assert.That(sent, Is.EqualTo(Window), "the relay's window (no ACK yet) holds that many empty messages");
    }

    /// <summary>A link of relay-a (both sides with a window of <see cref="Window"/> when <paramref name="smallWindow"/>) and stream 1 on it.</summary>
    private static async Task<(LinkListener Listener, IDuplexPipe RelayEnd, MuxStream Core)> OpenStreamAsync(bool smallWindow, CancellationToken token)
    {
        var time = new FakeTimeProvider();
        byte[] key = RandomNumberGenerator.GetBytes(32);
        var listener = HandshakeTests.ListenerForRelayA(key, time, o => Configure(o.Link));
        var options = InMemoryBackhaul.Options(time, key);
        Configure(options);
        var relayEnd = await AttachAbuseTests.DialRelayAAsync(listener, options, token);
        FrameWriter.WriteOpen(relayEnd.Output, 1, new OpenInfo("s", "127.0.0.1:1", OpenInfo.NoClaims));
        await relayEnd.Output.FlushAsync(token);
        return (listener, relayEnd, await listener.AcceptStreamAsync(token));

        void Configure(LinkOptions o)
        {
            if (smallWindow)
            {
                SmallWindow(o);
            }
        }
    }

    private static void SmallWindow(LinkOptions options)
    {
        options.StreamWindow = Window;
        options.MaxChunkSize = Window;
        options.MaxMessageSize = Window;
    }

    /// <summary>Pings after what the relay's end wrote: true at the first PONG, false when the core closes the link first.</summary>
    private static async Task<bool> PingAnsweredAsync(IDuplexPipe relayEnd, ulong id, CancellationToken token)
    {
        FrameWriter.WritePing(relayEnd.Output, FrameKind.Ping, id);
        await relayEnd.Output.FlushAsync(token);
        while (await HandshakeTests.ReadAsync(relayEnd.Input, token) is { } frame)
        {
            if (frame.Kind == FrameKind.Pong)
            {
                return true;
            }
        }

        return false;
    }
}
