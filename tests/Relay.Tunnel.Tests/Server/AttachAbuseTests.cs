using System.Security.Cryptography;
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
        var (relayEnd, coreEnd) = DuplexPipe.CreatePair();
        var accept = listener.AcceptLinkAsync(coreEnd, "relay-a", CancellationToken.None);
        var dialed = await LinkHandshake.DialAsync(relayEnd, InMemoryBackhaul.Options(time, key), "relay-a", "test", token);
        Assert.That(dialed.Ok, Is.True, dialed.Error);
        await accept.WaitAsync(token);

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
}
