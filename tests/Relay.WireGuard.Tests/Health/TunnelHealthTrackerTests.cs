using Relay.WireGuard;
using Relay.WireGuard.Devices;
using Relay.WireGuard.Health;
using Relay.WireGuard.Keys;

namespace Relay.WireGuard.Tests.Health;

public class TunnelHealthTrackerTests
{
    private static readonly DateTimeOffset s_t0 = new(2026, 11, 26, 12, 0, 0, TimeSpan.Zero);
    private static readonly WireGuardKey s_peer = WireGuardKeyPair.Generate().PublicKey;
    private readonly WireGuardOptions _options = new() { Interface = "wg-relay", HandshakeTimeout = TimeSpan.FromMinutes(3), NoTrafficTimeout = TimeSpan.FromSeconds(10) };

    [Test]
    public void FreshHandshakeAndTraffic_IsHealthy()
    {
        var tracker = new TunnelHealthTracker(_options, "managed", s_t0);
        var status = tracker.Observe(State(s_t0, 100, 100), null, "wireguard-go", s_t0.AddSeconds(5), linksFailing: false);
        Assert.That(status.Health, Is.EqualTo(TunnelHealth.Healthy));
        Assert.That(status.Values()["endpoint"], Is.EqualTo("192.0.2.1:51820"));
    }

    [Test]
    public void StaleHandshake_IsUnhealthy_NamingTheTunnel()
    {
        var tracker = new TunnelHealthTracker(_options, "managed", s_t0);
        var status = tracker.Observe(State(s_t0, 100, 100), null, "wireguard-go", s_t0.AddMinutes(4), linksFailing: false);
        Assert.That(status.Health, Is.EqualTo(TunnelHealth.Unhealthy));
        Assert.That(status.Reason, Does.StartWith("tunnel wg-relay:").And.Contain("handshake"));
    }

    [Test]
    public void SilentPeerWhileLinksFail_IsUnhealthy_ThenRecovers()
    {
        var tracker = new TunnelHealthTracker(_options, "managed", s_t0);
        tracker.Observe(State(s_t0, 100, 100), null, "wireguard-go", s_t0, linksFailing: false);
        var stillOk = tracker.Observe(State(s_t0, 100, 100), null, "wireguard-go", s_t0.AddSeconds(9), linksFailing: true);
        Assert.That(stillOk.Health, Is.EqualTo(TunnelHealth.Healthy));
        var sick = tracker.Observe(State(s_t0, 100, 100), null, "wireguard-go", s_t0.AddSeconds(11), linksFailing: true);
        Assert.That(sick.Health, Is.EqualTo(TunnelHealth.Unhealthy));
        Assert.That(sick.Reason, Does.Contain("nothing received").And.Contain("links are failing"));
        var back = tracker.Observe(State(s_t0.AddSeconds(12), 200, 150), null, "wireguard-go", s_t0.AddSeconds(13), linksFailing: true);
        Assert.That(back.Health, Is.EqualTo(TunnelHealth.Healthy), "recovery is seen at the next reading, without a restart");
    }

    [Test]
    public void SilentPeerWhileSending_IsUnhealthy_IdleIsNot()
    {
        var tracker = new TunnelHealthTracker(_options, "managed", s_t0);
        tracker.Observe(State(s_t0, 100, 100), null, "wireguard-go", s_t0, linksFailing: false);
        Assert.That(tracker.Observe(State(s_t0, 100, 100), null, "wireguard-go", s_t0.AddSeconds(30), linksFailing: false).Health, Is.EqualTo(TunnelHealth.Healthy), "idle both ways is fine");
        Assert.That(tracker.Observe(State(s_t0, 100, 500), null, "wireguard-go", s_t0.AddSeconds(31), linksFailing: false).Health, Is.EqualTo(TunnelHealth.Unhealthy), "sending into silence is not");
    }

    [Test]
    public void NoHandshakeYet_WaitsThenFails_AndUnreadableDeviceFails()
    {
        var tracker = new TunnelHealthTracker(_options, "external", s_t0);
        Assert.That(tracker.Observe(State(null, 0, 0), null, "uapi", s_t0.AddSeconds(10), false).Health, Is.EqualTo(TunnelHealth.Waiting));
        Assert.That(tracker.Observe(State(null, 0, 0), null, "uapi", s_t0.AddMinutes(4), false).Health, Is.EqualTo(TunnelHealth.Unhealthy));
        var down = tracker.Observe(null, "no socket", "uapi", s_t0, false);
        Assert.That(down.Reason, Is.EqualTo("tunnel wg-relay: device not answering (no socket)"));
    }

    private static DeviceState State(DateTimeOffset? handshake, long rx, long tx) =>
        new("wg-relay", null, 51820, [new PeerState(s_peer, "192.0.2.1:51820", handshake, rx, tx, 25, ["10.9.0.1/32"])]);
}
