using System.Buffers.Binary;
using Relay.Testing.Backhaul;

namespace Relay.Tunnel.Tests.Links;

/// <summary>
/// Issue 22: small DATA frames sent on two links, the first arrival taken. Real listener and pool on loopback sockets;
/// a link that loses every DATA frame while it stays up (its pings and acks go on), or that dies, must cost nothing:
/// every message arrives once, in order.
/// </summary>
[NonParallelizable]
public class DuplicateFramesTests
{
    private const int Messages = 200;

    [Test]
    [CancelAfter(60_000)]
    public async Task StreamsOwnLinkLosesEveryDataFrame_BothWays_TheCopiesDeliverEachMessageOnceInOrder(CancellationToken token)
    {
        await using var backhaul = await Backhaul.StartAsync(links: 2, duplicateUpTo: 1024);
        var stream = backhaul.Pool.OpenStream(Backhaul.Info("dup"));
        await SendAndExpectEchoAsync(stream, 0, 1, token); // placed and accepted on both sides
        stream.CurrentLink!.UnsafeDropDataFrames = true;
        backhaul.CoreStreamsById[stream.Id].CurrentLink!.UnsafeDropDataFrames = true;

        await EchoManyAsync(stream, 1, token);
        Assert.That(backhaul.Pool.Counters.CopiesFirst, Is.GreaterThanOrEqualTo(Messages), "the relay took the core's echoes from the second link");
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task StreamsOwnLinkDies_MidTransfer_EachMessageOnceInOrder(CancellationToken token)
    {
        await using var backhaul = await Backhaul.StartAsync(links: 3, duplicateUpTo: 1024);
        var streams = Enumerable.Range(0, 50).Select(i => backhaul.Pool.OpenStream(Backhaul.Info($"d{i}"))).ToArray();
        var work = streams.Select(async (stream, i) =>
        {
            for (int m = 0; m < Messages; m++)
            {
                await SendAndExpectEchoAsync(stream, m, 1, token);
                if (i == 0 && m == Messages / 2)
                {
                    Assert.That(backhaul.Pool.KillLink(0, 0) || backhaul.Pool.KillLink(0, 1), Is.True);
                }
            }
        });
        await Task.WhenAll(work);
        Assert.That(backhaul.Pool.Counters.CopiesSent, Is.GreaterThan(0));
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task Off_NoCopiesAreSent(CancellationToken token)
    {
        await using var backhaul = await Backhaul.StartAsync(links: 2);
        var stream = backhaul.Pool.OpenStream(Backhaul.Info("plain"));
        await EchoManyAsync(stream, 0, token);
        Assert.That(backhaul.Pool.Counters.CopiesSent, Is.Zero);
    }

    private static async Task EchoManyAsync(MuxStream stream, int from, CancellationToken token)
    {
        // Pipelined: all sent first, then every echo read and checked, so order and exactly-once are what is tested.
        for (int m = from; m < from + Messages; m++)
        {
            Assert.That(await stream.SendAsync(Payload(m), false, token), Is.True);
        }

        for (int m = from; m < from + Messages; m++)
        {
            using var echo = await stream.ReceiveAsync(token);
            Assert.That(echo.Type, Is.EqualTo(StreamMessageType.Binary));
            Assert.That(BinaryPrimitives.ReadInt32LittleEndian(echo.Data.Span), Is.EqualTo(m), "each message once, in order");
        }
    }

    private static async Task SendAndExpectEchoAsync(MuxStream stream, int m, int count, CancellationToken token)
    {
        for (int i = 0; i < count; i++)
        {
            Assert.That(await stream.SendAsync(Payload(m), false, token), Is.True);
            using var echo = await stream.ReceiveAsync(token);
            Assert.That(BinaryPrimitives.ReadInt32LittleEndian(echo.Data.Span), Is.EqualTo(m), $"stream {stream.Id}: once, in order");
        }
    }

    private static byte[] Payload(int m)
    {
        var payload = new byte[64];
        BinaryPrimitives.WriteInt32LittleEndian(payload, m);
        return payload;
    }
}
