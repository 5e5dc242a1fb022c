using System.Net;
using Relay.Gateway.Configuration;
using Relay.Gateway.Edge;
using Relay.Gateway.Health;

namespace Relay.Gateway.Tests.Edge;

/// <summary>The relay's health names its connection caps when it is at them (issue 16): /status, /readyz's reason
/// and the health report say why new connections are being refused or evicted.</summary>
public class ConnectionSignalTests
{
    [Test]
    public void BelowTheCaps_Healthy_WithTheCounts()
    {
        var gate = new ConnectionGate(new GatewayOptions { MaxConnections = 10, MaxPreAuthConnections = 4, MaxPreAuthConnectionsPerIp = 4 }, fileLimit: 20_000);
        Assert.That(gate.TryOpen(), Is.True);
        using var slot = gate.TryEnterPreAuth(IPAddress.Parse("127.0.9.1"));

        var reading = new ConnectionSignal(gate).Read();

        Assert.Multiple(() =>
        {
            Assert.That(reading.Level, Is.EqualTo(HealthLevel.Healthy));
            Assert.That(reading.Values["open"], Is.EqualTo(1));
            Assert.That(reading.Values["preAuth"], Is.EqualTo(1));
            Assert.That(reading.Values["maxConnections"], Is.EqualTo(10));
        });
    }

    [Test]
    public void AtThePreAuthCap_Degraded_NamingTheCapAndTheEvictions()
    {
        var gate = new ConnectionGate(new GatewayOptions { MaxConnections = 10, MaxPreAuthConnections = 2, MaxPreAuthConnectionsPerIp = 4 }, fileLimit: 20_000);
        var signal = new ConnectionSignal(gate);
        var slots = Enumerable.Range(0, 3).Select(i => gate.TryEnterPreAuth(IPAddress.Parse($"127.0.9.{i + 1}"))).ToList();

        var reading = signal.Read();

        Assert.Multiple(() =>
        {
            Assert.That(reading.Level, Is.EqualTo(HealthLevel.Degraded));
            Assert.That(reading.Reason, Does.Contain("pre-auth cap").And.Contain("2"));
            Assert.That(reading.Reason, Does.Contain("1 evicted"));
        });
        slots.ForEach(s => s?.Dispose());
        Assert.That(signal.Read().Level, Is.EqualTo(HealthLevel.Healthy), "below the cap with no new evictions");
    }

    [Test]
    public void AtTheConnectionCap_Degraded_NamingIt()
    {
        var gate = new ConnectionGate(new GatewayOptions { MaxConnections = 3 }, fileLimit: 20_000);
        var signal = new ConnectionSignal(gate);
        for (int i = 0; i < 4; i++)
        {
            gate.TryOpen();
        }

        var reading = signal.Read();

        Assert.Multiple(() =>
        {
            Assert.That(reading.Level, Is.EqualTo(HealthLevel.Degraded));
            Assert.That(reading.Reason, Does.Contain("connection cap").And.Contain("3 of 3").And.Contain("1 refused"));
        });
    }
}
