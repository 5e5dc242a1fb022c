namespace Relay.Tunnel.Tests.Links;

/// <summary>
/// Issue 21: dual send (issue 22) copies small frames only on a far or lossy link. A pool and a listener over in-memory
/// pipes on one fake clock; the round trip is what the test makes it: answered at once (a near link, RTT 0) or late
/// (<see cref="Link.PongDelay"/>, a far one). The copy counters of both sides show where copies were made.
/// </summary>
public class AdaptiveDuplicateTests
{
    private static readonly TimeSpan s_heartbeat = new LinkOptions().HeartbeatInterval;

    [Test]
    [CancelAfter(60_000)]
    public async Task CopiesBeforeTheFirstRoundTrip_NoneOnANearLink_CopiesOnceTheLinkIsFar_NoneAgainAfterTheHold(CancellationToken token)
    {
        await using var backhaul = await InMemoryBackhaul.StartAsync(token, links: 2, duplicateUpTo: 1024);

        // A copy needs a second link on the sending side: the pool has both once StartAsync returns, the core once its two
        // handshakes are done (a CI run once sent the core's echo while its second link was still being set up: no copy).
        for (int i = 0; i < 2; i++)
        {
            await (await backhaul.Handshakes.Reader.ReadAsync(token)).WaitAsync(token);
        }

        var (relay, core) = await backhaul.OpenAcceptedAsync("adaptive", token);
        Assert.That(backhaul.Pool.Counters.CopiesSent, Is.GreaterThan(0), "the relay copies until it has measured its link");
        Assert.That(backhaul.Listener.Counters.CopiesSent, Is.GreaterThan(0), "so does the core");

        // Near: every ping answered at once (RTT 0 on the fake clock), on both sides.
        var relayLink = relay.CurrentLink!;
        var coreLink = core.CurrentLink!;
        // 20 ms of real time per step: a pong still on its way when the clock moves counts as a slow round trip (CI, on a
        // busy machine, once saw every ping of 50 fake seconds answered "late" with 1 ms per step).
        await Eventually.AdvanceUntilAsync(backhaul.Time, TimeSpan.FromMilliseconds(250), () => !relayLink.IsFar && !coreLink.IsFar, token, maxSteps: 200, pauseMs: 20);
        var (relayCopies, coreCopies) = (backhaul.Pool.Counters.CopiesSent, backhaul.Listener.Counters.CopiesSent);
        await EchoAsync(relay, core, 20, token);
        Assert.That(backhaul.Pool.Counters.CopiesSent, Is.EqualTo(relayCopies), "near link: the relay sent no copies");
        Assert.That(backhaul.Listener.Counters.CopiesSent, Is.EqualTo(coreCopies), "near link: the core sent no copies");

        // Far: each side answers the other's pings 50 ms late (as a 50 ms path would); after three such round trips the
        // smallest is above DuplicateAboveRtt (20 ms) and both sides copy again.
        backhaul.Listener.SetPongDelay("relay-test", TimeSpan.FromMilliseconds(50));
        SetPoolPongDelay(backhaul.Pool, TimeSpan.FromMilliseconds(50));
        await Eventually.AdvanceUntilAsync(backhaul.Time, TimeSpan.FromMilliseconds(50), () => relayLink.IsFar && coreLink.IsFar, token, maxSteps: 1000);
        Assert.That(relayLink.RoundTripTime, Is.GreaterThanOrEqualTo(TimeSpan.FromMilliseconds(50)));
        (relayCopies, coreCopies) = (backhaul.Pool.Counters.CopiesSent, backhaul.Listener.Counters.CopiesSent);
        await EchoAsync(relay, core, 20, token);
        Assert.That(backhaul.Pool.Counters.CopiesSent - relayCopies, Is.EqualTo(20), "far link: each message copied by the relay");
        Assert.That(backhaul.Listener.Counters.CopiesSent - coreCopies, Is.EqualTo(20), "far link: each echo copied by the core");

        // Near again: a fast round trip ends it only once the hold (60 s) has passed since the last slow one.
        backhaul.Listener.SetPongDelay("relay-test", TimeSpan.Zero);
        SetPoolPongDelay(backhaul.Pool, TimeSpan.Zero);
        var waited = await Eventually.AdvanceUntilAsync(backhaul.Time, TimeSpan.FromMilliseconds(500), () => !relayLink.IsFar && !coreLink.IsFar, token, maxSteps: 400, pauseMs: 20);
        Assert.That(waited, Is.GreaterThanOrEqualTo(new LinkOptions().FarLinkHold - s_heartbeat), "far for the hold after the last slow round trip");
        (relayCopies, coreCopies) = (backhaul.Pool.Counters.CopiesSent, backhaul.Listener.Counters.CopiesSent);
        await EchoAsync(relay, core, 20, token);
        Assert.That(backhaul.Pool.Counters.CopiesSent, Is.EqualTo(relayCopies));
        Assert.That(backhaul.Listener.Counters.CopiesSent, Is.EqualTo(coreCopies));
    }

    [Test]
    [CancelAfter(30_000)]
    public async Task PingUnansweredFor200Ms_TheLinkIsFar_EvenWhenItsRoundTripsWereFast(CancellationToken token)
    {
        await using var backhaul = await InMemoryBackhaul.StartAsync(token, links: 2, duplicateUpTo: 1024);
        var (relay, _) = await backhaul.OpenAcceptedAsync("stall", token);
        var relayLink = relay.CurrentLink!;
        await Eventually.AdvanceUntilAsync(backhaul.Time, TimeSpan.FromMilliseconds(250), () => !relayLink.IsFar, token, maxSteps: 200, pauseMs: 20);

        // A stall (a retransmission timeout on a lossy path): the core answers the next ping 2 s late. The relay's
        // heartbeat tick sees it unanswered for 200 ms and copies from then on, before the late pong arrives.
        backhaul.Listener.SetPongDelay("relay-test", TimeSpan.FromSeconds(2));
        await Eventually.AdvanceUntilAsync(backhaul.Time, TimeSpan.FromMilliseconds(250), () => relayLink.IsFar, token, maxSteps: 200);
        Assert.That(relayLink.RoundTripTime, Is.LessThan(TimeSpan.FromMilliseconds(20)), "far by the unanswered ping, not by a measured round trip");
    }

    [Test]
    [CancelAfter(30_000)]
    public async Task LinuxLoopback_PingsAnsweredLate_TheKernelsRoundTripSaysNear_NoCopies(CancellationToken token)
    {
        // A busy machine: pings wait in both processes' queues and come back late. On Linux the kernel's smallest round
        // trip of the TCP path (TCP_INFO) decides instead, and loopback's is microseconds: no copies.
        Assume.That(OperatingSystem.IsLinux(), "TCP_INFO is read on Linux; elsewhere the heartbeat decides (tests above)");
        await using var backhaul = await Backhaul.StartAsync(links: 2, duplicateUpTo: 1024, duplicateAboveRtt: TimeSpan.FromMilliseconds(20));
        backhaul.Listener.SetPongDelay("relay-test", TimeSpan.FromMilliseconds(100));
        var relay = backhaul.Pool.OpenStream(Backhaul.Info("busy"));
        Assert.That(await relay.SendAsync(new byte[64], false, token), Is.True);
        using (var first = await relay.ReceiveAsync(token))
        {
            Assert.That(first.Data.Length, Is.EqualTo(64));
        }

        var link = relay.CurrentLink!;
        await Eventually.HoldsAsync(() => link.RoundTripTime >= TimeSpan.FromMilliseconds(100), token);
        Assert.That(link.IsFar, Is.False, "the pings say 100 ms; the kernel says loopback");
        long copies = backhaul.Pool.Counters.CopiesSent;
        for (int i = 0; i < 20; i++)
        {
            Assert.That(await relay.SendAsync(new byte[64], false, token), Is.True);
            using var echo = await relay.ReceiveAsync(token);
        }

        Assert.That(backhaul.Pool.Counters.CopiesSent, Is.EqualTo(copies));
    }

    [Test]
    public void DuplicateAboveRttZero_EveryLinkCopies()
    {
        var options = new LinkOptions { DuplicateAboveRtt = TimeSpan.Zero };
        Assert.DoesNotThrow(() => options.Validate(requireKey: false));
        Assert.Throws<ArgumentException>(() => new LinkOptions { DuplicateAboveRtt = TimeSpan.FromMilliseconds(-1) }.Validate(requireKey: false));
    }

    private static void SetPoolPongDelay(LinkPool pool, TimeSpan delay)
    {
        for (int slot = 0; slot < 2; slot++)
        {
            if (pool.LinkAt(0, slot) is { } link)
            {
                link.PongDelay = delay;
            }
        }
    }

    private static async Task EchoAsync(MuxStream relay, MuxStream core, int count, CancellationToken token)
    {
        for (int i = 0; i < count; i++)
        {
            var payload = new byte[64];
            payload[0] = (byte)i;
            Assert.That(await relay.SendAsync(payload, false, token), Is.True);
            using (var message = await core.ReceiveAsync(token))
            {
                Assert.That(message.Data.Span[0], Is.EqualTo((byte)i));
                Assert.That(await core.SendAsync(message.Data, false, token), Is.True);
            }

            using var echo = await relay.ReceiveAsync(token);
            Assert.That(echo.Data.Span[0], Is.EqualTo((byte)i), "each message once, in order");
        }
    }
}
