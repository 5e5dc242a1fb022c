using System.Text;
using Relay.Testing.Backhaul;
using Relay.Tunnel.Tests.TestTransport;

namespace Relay.Tunnel.Tests.Links;

/// <summary>Issue 21: what an idle stream keeps. The OPEN's claims are dropped once read, and nothing is lost for it.</summary>
public class IdleStreamStateTests
{
    [Test]
    [CancelAfter(30_000)]
    public async Task ClaimsDroppedOnceAccepted_AndOnceTheAcceptorReadThem_StreamStillCarriesAcrossALinkLoss(CancellationToken token)
    {
        var seenByCore = new TaskCompletionSource<IReadOnlyDictionary<string, string>>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var backhaul = await Backhaul.StartAsync(links: 2, handler: (stream, ct) =>
        {
            seenByCore.TrySetResult(new Dictionary<string, string>(stream.Info.Claims));
            stream.ReleaseClaims();
            Assert.That(stream.Info.Claims, Is.Empty, "the acceptor's stream holds no claims once its owner has read them");
            Assert.That(stream.Info.SessionKey, Is.EqualTo("s1/u1"));
            return StreamEcho.RunAsync(stream, ct);
        });
        var claims = new Dictionary<string, string> { ["site"] = "s1", ["sub"] = "u1", ["role"] = "visitor" };
        var relay = backhaul.Pool.OpenStream(new OpenInfo("s1/u1", "127.0.0.1:1", claims));
        Assert.That(relay.Info.Claims, Has.Count.EqualTo(3), "kept until the core has accepted: the OPEN may be re-sent");

        Assert.That(await EchoAsync(relay, "one", token), Is.EqualTo("one"));
        Assert.That(await seenByCore.Task.WaitAsync(token), Is.EquivalentTo(claims), "the core received every claim");
        Assert.That(relay.Info.Claims, Is.Empty, "accepted: the opener's stream no longer holds the claims");
        Assert.That(relay.Info.SessionKey, Is.EqualTo("s1/u1"));
        Assert.That(relay.Info.ClientAddress, Is.EqualTo("127.0.0.1:1"));

        // Re-attached on the other links after every link is lost: no OPEN again, nothing lost.
        Assert.That(backhaul.Pool.KillAllLinks(), Is.EqualTo(2));
        for (int i = 0; i < 5; i++)
        {
            Assert.That(await EchoAsync(relay, $"after-{i}", token), Is.EqualTo($"after-{i}"));
        }

        Assert.That(backhaul.CoreStreams.Count(), Is.EqualTo(1), "the same stream on the core, re-attached, not opened again");
    }

    [Test]
    [CancelAfter(30_000)]
    public async Task QuietStream_ItsPeerReleasesWhatItSent_WithinTwoHeartbeatTicks_BothWays(CancellationToken token)
    {
        // Before: receipts went every 16 frames only, so an idle session's last pings (relay side) and pongs (core side)
        // stayed retained, a pooled buffer and a queue slot each, until the 16th.
        await using var backhaul = await InMemoryBackhaul.StartAsync(token);
        var (relay, core) = await backhaul.OpenAcceptedAsync("s1/u1", token);
        for (int i = 0; i < 3; i++)
        {
            Assert.That(await relay.SendAsync(Encoding.UTF8.GetBytes($"ping {i}"), true, token), Is.True);
            using var ping = await core.ReceiveAsync(token);
            Assert.That(await core.SendAsync(Encoding.UTF8.GetBytes($"pong {i}"), true, token), Is.True);
            using var pong = await relay.ReceiveAsync(token);
            Assert.That(Encoding.UTF8.GetString(pong.Data.Span), Is.EqualTo($"pong {i}"));
        }

        Assert.That(relay.RetainedCount, Is.GreaterThan(0), "fewer than 16 frames: no receipt yet");
        Assert.That(core.RetainedCount, Is.GreaterThan(0), "fewer than 16 frames: no receipt yet");

        var tick = TimeSpan.FromMilliseconds(250);
        var took = await Eventually.AdvanceUntilAsync(backhaul.Time, tick, () => relay.RetainedCount == 0 && core.RetainedCount == 0, token);
        Assert.That(took, Is.LessThanOrEqualTo(tick * 3), "a quiet stream's receipt goes within two ticks of the pool's and the listener's timers");

        // Nothing lost, and the stream carries on.
        Assert.That(await relay.SendAsync("after"u8.ToArray(), true, token), Is.True);
        using var after = await core.ReceiveAsync(token);
        Assert.That(Encoding.UTF8.GetString(after.Data.Span), Is.EqualTo("after"));
    }

    private static async Task<string> EchoAsync(MuxStream stream, string text, CancellationToken token)
    {
        Assert.That(await stream.SendAsync(Encoding.UTF8.GetBytes(text), true, token), Is.True);
        using var echo = await stream.ReceiveAsync(token);
        return Encoding.UTF8.GetString(echo.Data.Span);
    }
}
