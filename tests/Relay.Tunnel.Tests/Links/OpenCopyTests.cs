using System.Buffers.Binary;
using Relay.Tunnel.Tests.TestTransport;

namespace Relay.Tunnel.Tests.Links;

/// <summary>
/// Issue 22: a new stream's OPEN also goes on a second link while the stream's link is far (OPEN_COPY), so one lost
/// packet does not hold the session's start for a retransmission. Real listener and pool on loopback sockets (every
/// link counts as far here); a link "held" writes nothing until released, as behind a lost packet TCP resends late.
/// </summary>
[NonParallelizable]
public class OpenCopyTests
{
    private const int LargeMessages = 200; // 4 KiB each, not copied: 800 KiB, beyond a 256 KiB window each way

    [Test]
    [CancelAfter(30_000)]
    public async Task StreamsOwnLinkHoldsItsOpenAndHello_TheCopiesOpenTheStream_ThenTheLateOpenChangesNothingVisible(CancellationToken token)
    {
        await using var backhaul = await Backhaul.StartAsync(links: 2, duplicateUpTo: 1024);
        var own = backhaul.Pool.LinkAt(0, 0)!;
        own.UnsafeHold();
        MuxStream stream;
        Link? coreFirstLink;
        try
        {
            stream = backhaul.Pool.OpenStream(Backhaul.Info("held-open"));
            Assert.That(stream.CurrentLink, Is.SameAs(own), "precondition: the least loaded link, the first slot on a tie");

            // The OPEN and the hello wait on the stream's own link: only their copies can bring the echo.
            await SendAndExpectEchoAsync(stream, 0, 64, token);
            Assert.That(backhaul.Listener.Counters.OpensFromCopy, Is.EqualTo(1), "the core opened the stream from its copy");
            coreFirstLink = backhaul.CoreStreamsById[stream.Id].CurrentLink;
        }
        finally
        {
            own.UnsafeRelease();
        }

        // The held OPEN and DATA arrive now: the core moves the stream to the relay's link. Acks, credit, large frames
        // and the close must then go where each side expects them, or this stalls beyond the first window.
        await Eventually.HoldsAsync(() => backhaul.CoreStreamsById[stream.Id].CurrentLink is { } link && link != coreFirstLink, token);
        for (int m = 1; m <= LargeMessages; m++)
        {
            await SendAndExpectEchoAsync(stream, m, 4096, token);
        }

        await CloseBothAsync(backhaul, stream, token);
        Assert.That(backhaul.CoreStreamsById, Has.Count.EqualTo(1), "one stream for the core's application");
        Assert.That(backhaul.Listener.Counters.Reattaches, Is.Zero, "the late OPEN is not counted as a re-attach");
    }

    [Test]
    [CancelAfter(30_000)]
    public async Task CopiedOpenArrivesAfterTheOriginal_IsIgnored(CancellationToken token)
    {
        await using var backhaul = await Backhaul.StartAsync(links: 2, duplicateUpTo: 1024);
        var copyLink = backhaul.Pool.LinkAt(0, 1)!;
        copyLink.UnsafeHold();
        MuxStream stream;
        try
        {
            stream = backhaul.Pool.OpenStream(Backhaul.Info("late-copy"));
            Assert.That(stream.CurrentLink, Is.SameAs(backhaul.Pool.LinkAt(0, 0)), "precondition: the stream on the first slot, its copies on the second");
            await SendAndExpectEchoAsync(stream, 0, 64, token);
        }
        finally
        {
            copyLink.UnsafeRelease();
        }

        await Eventually.HoldsAsync(() => backhaul.Listener.Counters.OpenCopies == 1, token);
        for (int m = 1; m <= LargeMessages; m++)
        {
            await SendAndExpectEchoAsync(stream, m, 4096, token);
        }

        await CloseBothAsync(backhaul, stream, token);
        Assert.That(backhaul.CoreStreamsById, Has.Count.EqualTo(1));
        Assert.That(backhaul.Listener.Counters.OpensFromCopy, Is.Zero);
    }

    [Test]
    [CancelAfter(30_000)]
    public async Task StreamEndsBeforeItsCopiedOpenArrives_TheLateCopyOpensNothing(CancellationToken token)
    {
        await using var backhaul = await Backhaul.StartAsync(links: 2, duplicateUpTo: 1024);
        var copyLink = backhaul.Pool.LinkAt(0, 1)!;
        copyLink.UnsafeHold();
        try
        {
            var stream = backhaul.Pool.OpenStream(Backhaul.Info("short"));
            Assert.That(stream.CurrentLink, Is.SameAs(backhaul.Pool.LinkAt(0, 0)), "precondition");
            await SendAndExpectEchoAsync(stream, 0, 64, token);
            await CloseBothAsync(backhaul, stream, token);
        }
        finally
        {
            copyLink.UnsafeRelease();
        }

        // A second stream's copy follows the first one's on the same link: once it is counted, the first was handled.
        var second = backhaul.Pool.OpenStream(Backhaul.Info("second"));
        await SendAndExpectEchoAsync(second, 1, 64, token);
        await Eventually.HoldsAsync(() => backhaul.Listener.Counters.OpenCopies == 2, token);
        Assert.That(backhaul.Listener.Counters.Streams, Is.EqualTo(1), "only the second stream is open on the core: the ended one was not opened again");
    }

    [Test]
    [CancelAfter(30_000)]
    public async Task AcceptLostWithTheStreamsLink_TheReopenAndItsCopyFindTheStream_EachMessageOnce(CancellationToken token)
    {
        // The re-open after link loss (tunnel/Protocol/README.md "Re-attach") with copies on: the core holds the stream,
        // the relay never saw ACCEPT; its OPEN again (and OPEN_COPY) on other links must find that stream, not a new one.
        await using var backhaul = await Backhaul.StartAsync(links: 3, duplicateUpTo: 1024);
        // The pool counts a link once the core's answer arrives; the core lists it a moment later (a CI run saw 2 of 3).
        await Eventually.HoldsAsync(() => backhaul.Listener.LinksOf("relay-test").Count == 3, token);
        var coreLinks = backhaul.Listener.LinksOf("relay-test");
        Assert.That(coreLinks, Has.Count.EqualTo(3));
        foreach (var link in coreLinks)
        {
            link.UnsafeHold(); // the core's ACCEPT and echo wait
        }

        MuxStream stream;
        try
        {
            stream = backhaul.Pool.OpenStream(Backhaul.Info("reopen"));
            Assert.That(await stream.SendAsync(Payload(0, 64), false, token), Is.True);
            await Eventually.HoldsAsync(() => backhaul.CoreStreamsById.ContainsKey(stream.Id), token);
            Assert.That(stream.IsAccepted, Is.False, "precondition: the relay has not seen ACCEPT");
            var own = stream.CurrentLink!;
            own.Shutdown(LinkCloseReason.Aborted);
            await Eventually.HoldsAsync(() => stream.CurrentLink is { } link && link != own && stream.State == StreamState.Attached, token);
        }
        finally
        {
            foreach (var link in coreLinks)
            {
                link.UnsafeRelease();
            }
        }

        using (var echo = await stream.ReceiveAsync(token))
        {
            Assert.That(BinaryPrimitives.ReadInt32LittleEndian(echo.Data.Span), Is.EqualTo(0));
        }

        for (int m = 1; m <= LargeMessages; m++)
        {
            await SendAndExpectEchoAsync(stream, m, 4096, token);
        }

        await CloseBothAsync(backhaul, stream, token);
        Assert.That(backhaul.CoreStreamsById, Has.Count.EqualTo(1));
        Assert.That(backhaul.Listener.Counters.Streams, Is.Zero);
    }

    [Test]
    [CancelAfter(30_000)]
    public async Task NearLink_NoOpenCopies(CancellationToken token)
    {
        await using var backhaul = await Backhaul.StartAsync(links: 2, duplicateUpTo: 1024, duplicateAboveRtt: TimeSpan.FromSeconds(10));
        await Eventually.HoldsAsync(() => backhaul.Pool.LinkAt(0, 0) is { IsFar: false } && backhaul.Pool.LinkAt(0, 1) is { IsFar: false }, token);
        var stream = backhaul.Pool.OpenStream(Backhaul.Info("near"));
        await SendAndExpectEchoAsync(stream, 0, 64, token);
        Assert.That(backhaul.Pool.Counters.OpenCopies, Is.Zero);
    }

    private static async Task CloseBothAsync(Backhaul backhaul, MuxStream stream, CancellationToken token)
    {
        stream.Close(StreamCodes.Normal, "bye");
        var closed = await stream.Completion.WaitAsync(token);
        Assert.That(closed.Code, Is.EqualTo(StreamCodes.Normal), $"closed cleanly, not reset: {closed}");
        var core = await backhaul.CoreStreamsById[stream.Id].Completion.WaitAsync(token);
        Assert.That(core.Code, Is.EqualTo(StreamCodes.Normal), $"the core's side closed cleanly: {core}");
    }

    private static byte[] Payload(int m, int size)
    {
        var payload = new byte[size];
        BinaryPrimitives.WriteInt32LittleEndian(payload, m);
        return payload;
    }

    private static async Task SendAndExpectEchoAsync(MuxStream stream, int m, int size, CancellationToken token)
    {
        Assert.That(await stream.SendAsync(Payload(m, size), false, token), Is.True);
        using var echo = await stream.ReceiveAsync(token);
        Assert.That(echo.Type, Is.EqualTo(StreamMessageType.Binary));
        Assert.That(BinaryPrimitives.ReadInt32LittleEndian(echo.Data.Span), Is.EqualTo(m), "each message once, in order");
        Assert.That(echo.Data.Length, Is.EqualTo(size));
    }
}
