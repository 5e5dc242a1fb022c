using System.Text;

namespace Relay.Tunnel.Tests.Links;

/// <summary>
/// The stream's receive queue on real loopback links: the owner's receive limit (the gateway's 1013), stopping the
/// receive side while closing, cancellation of a pending receive, and the window bounding what waits.
/// </summary>
public class ReceiveQueueTests
{
    [Test]
    [CancelAfter(30_000)]
    public async Task ReceiveLimit_FiresOnce_WhenTheOwnerFallsBehind_AndTheWindowBoundsTheQueue(CancellationToken token)
    {
        // The core sends 64 messages of 8 KiB (512 KiB, twice the 256 KiB window) to a relay that reads nothing.
        await using var backhaul = await Backhaul.StartAsync(links: 1, handler: async (stream, ct) =>
        {
            using var first = await stream.ReceiveAsync(ct);
            var chunk = new byte[8 * 1024];
            for (int i = 0; i < 64 && await stream.SendAsync(chunk, false, ct); i++)
            {
            }
        });
        var relay = backhaul.Pool.OpenStream(Backhaul.Info("slow"));
        int fired = 0;
        var exceeded = new TaskCompletionSource<long>(TaskCreationOptions.RunContinuationsAsynchronously);
        relay.SetReceiveLimit(100 * 1024, s =>
        {
            Interlocked.Increment(ref fired);
            exceeded.TrySetResult(((MuxStream)s).ReceiveBufferedBytes);
        }, relay);
        await relay.SendAsync("go"u8.ToArray(), true, token);

        long atLimit = await exceeded.Task.WaitAsync(token);
        Assert.That(atLimit, Is.GreaterThan(100 * 1024).And.LessThanOrEqualTo(100 * 1024 + 8 * 1024));
        await Eventually.HoldsAsync(() => relay.ReceiveBufferedBytes >= 256 * 1024, token);
        Assert.That(relay.ReceiveBufferedBytes, Is.EqualTo(256 * 1024), "the window stops the core's credit: the queue fills to it and no further");
        Assert.That(fired, Is.EqualTo(1));

        // Reading resumes the flow: every byte arrives, in order and once.
        long total = 0;
        while (total < 64 * 8 * 1024)
        {
            using var m = await relay.ReceiveAsync(token);
            Assert.That(m.Type, Is.EqualTo(StreamMessageType.Binary));
            total += m.Data.Length;
        }

        Assert.That((total, relay.ReceiveBufferedBytes, fired), Is.EqualTo((64L * 8 * 1024, 0L, 1)));
    }

    [Test]
    [CancelAfter(30_000)]
    public async Task SmallMessages_AreAcknowledgedEvery16Frames_SoTheSenderRetainsLittle(CancellationToken token)
    {
        // 1,000 messages of 100 B echoed: a window (256 KiB) would hold all of them; receipts every 16 frames
        // release the sender's retained copies as it goes (the gateway's GC pressure at 20,000 msg/s came from this).
        await using var backhaul = await Backhaul.StartAsync(links: 1);
        var relay = backhaul.Pool.OpenStream(Backhaul.Info("small"));
        var body = new byte[100];
        long maxRetained = 0;
        for (int i = 0; i < 1000; i++)
        {
            Assert.That(await relay.SendAsync(body, false, token), Is.True);
            using var echo = await relay.ReceiveAsync(token);
            Assert.That(echo.Data.Length, Is.EqualTo(100));
            maxRetained = Math.Max(maxRetained, relay.UnacknowledgedBytes);
        }

        Assert.That(maxRetained, Is.LessThanOrEqualTo(17 * 100), "the relay never keeps more than ~16 unacknowledged messages");
    }

    [Test]
    [CancelAfter(30_000)]
    public async Task StopReceiving_WakesAPendingReceive_KeepsWhatWasQueued_AndTheCloseStillTravels(CancellationToken token)
    {
        var (backhaul, relay, core) = await OpenWithCoreSideAsync("closing", token);
        await using var _ = backhaul;

        var pending = relay.ReceiveAsync(CancellationToken.None).AsTask();
        Assert.That(pending.IsCompleted, Is.False, "the core has sent nothing yet");
        await core.SendAsync("one"u8.ToArray(), true, token);
        using (var one = await pending.WaitAsync(token))
        {
            Assert.That(Encoding.UTF8.GetString(one.Data.Span), Is.EqualTo("one"));
        }

        await core.SendAsync("queued"u8.ToArray(), true, token);
        while (relay.ReceiveBufferedBytes == 0)
        {
            await Task.Delay(10, token);
        }

        relay.Close(4001, "draining");
        relay.StopReceiving();
        using (var queued = await relay.ReceiveAsync(token))
        {
            Assert.That(Encoding.UTF8.GetString(queued.Data.Span), Is.EqualTo("queued"), "what was queued is still received");
        }

        using (var end = await relay.ReceiveAsync(token))
        {
            Assert.That(end.Type, Is.EqualTo(StreamMessageType.Close));
        }

        var coreInfo = await core.Completion.WaitAsync(token);
        Assert.That((coreInfo.Code, coreInfo.Reason), Is.EqualTo((4001, "draining")));

        // A receive that is waiting when the owner stops receiving ends at once.
        var relay2 = backhaul.Pool.OpenStream(Backhaul.Info("closing-2"));
        var waiting = relay2.ReceiveAsync(CancellationToken.None).AsTask();
        relay2.StopReceiving();
        using var closed = await waiting.WaitAsync(token);
        Assert.That(closed.Type, Is.EqualTo(StreamMessageType.Close));
    }

    [Test]
    [CancelAfter(30_000)]
    public async Task PendingReceive_IsCancelled_ThenTheNextReceiveGetsTheMessage(CancellationToken token)
    {
        var (backhaul, relay, core) = await OpenWithCoreSideAsync("cancel", token);
        await using var _ = backhaul;

        using var cancel = new CancellationTokenSource(100);
        Assert.That(async () => await relay.ReceiveAsync(cancel.Token), Throws.InstanceOf<OperationCanceledException>());
        Assert.That(() => relay.ReceiveAsync(new CancellationToken(canceled: true)).AsTask().GetAwaiter().GetResult(), Throws.InstanceOf<OperationCanceledException>());

        await core.SendAsync("after"u8.ToArray(), true, token);
        using var m = await relay.ReceiveAsync(token);
        Assert.That(Encoding.UTF8.GetString(m.Data.Span), Is.EqualTo("after"));
        var second = relay.ReceiveAsync(token);
        Assert.That(() => relay.ReceiveAsync(token), Throws.InvalidOperationException, "receives must not overlap");
        relay.StopReceiving();
        (await second).Dispose();
    }

    /// <summary>A backhaul with one link, a stream opened from the relay, and the core's side of it (which only waits).</summary>
    private static async Task<(Backhaul Backhaul, MuxStream Relay, MuxStream Core)> OpenWithCoreSideAsync(string key, CancellationToken token)
    {
        var coreSide = new TaskCompletionSource<MuxStream>(TaskCreationOptions.RunContinuationsAsynchronously);
        var backhaul = await Backhaul.StartAsync(links: 1, handler: async (stream, ct) =>
        {
            coreSide.TrySetResult(stream);
            await stream.Completion.WaitAsync(ct);
        });
        var relay = backhaul.Pool.OpenStream(Backhaul.Info(key));
        await relay.SendAsync("hello"u8.ToArray(), true, token);
        return (backhaul, relay, await coreSide.Task.WaitAsync(token));
    }
}
