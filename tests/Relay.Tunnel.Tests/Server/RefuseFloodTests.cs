using Relay.Tunnel.Tests.Links;

namespace Relay.Tunnel.Tests.Server;

/// <summary>
/// Frames the core answers with a REFUSE (an ATTACH or OPEN for a stream it will not take): a review found a relay that
/// sends them and does not read made the core queue one REFUSE each without end (100,000 ATTACHs: 99,941 queued).
/// </summary>
public class RefuseFloodTests
{
    [Test]
    [CancelAfter(30_000)]
    public async Task AttachesForUnknownStreams_FromAPeerThatDoesNotRead_QueueBoundedRefuses_AndAllAreAnsweredOnceItReads(CancellationToken token)
    {
        var (listener, relayEnd, link) = await HandshakeTests.SmallPipeLinkAsync(token);
        await using var owned = listener;

        // The relay writes 20,000 ATTACHs for streams the core does not know, and reads nothing meanwhile.
        const int Attaches = 20_000;
        var writing = Task.Run(
            async () =>
            {
                for (int i = 0; i < Attaches; i++)
                {
                    FrameWriter.WriteAck(relayEnd.Output, FrameKind.Attach, (ulong)(1_000_000 + i), 0, 1 << 20);
                    if (i % 100 == 99)
                    {
                        await relayEnd.Output.FlushAsync(token);
                    }
                }

                await relayEnd.Output.FlushAsync(token);
            },
            token);
        await Eventually.HoldsAsync(() => link.RefusesQueued > Link.MaxQueuedRefuses, token);
        await Task.Delay(200, token); // the core would go on reading and queueing here, were it not held
        Assert.That(link.RefusesQueued, Is.LessThan(Link.MaxQueuedRefuses + 4096), "at most the cap and what one read brings");
        Assert.That(writing.IsCompleted, Is.False, "the core stopped reading the relay");

        // Once the relay reads, every ATTACH is answered.
        int refused = 0;
        while (refused < Attaches && await HandshakeTests.ReadAsync(relayEnd.Input, token) is { } frame)
        {
            refused += frame.Kind == FrameKind.Refuse ? 1 : 0;
        }

        await writing;
        Assert.That(refused, Is.EqualTo(Attaches));
    }
}
