using System.Diagnostics.Metrics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using Microsoft.Extensions.Options;
using Relay.Gateway.Configuration;
using Relay.Gateway.Health;
using Relay.Gateway.Backhaul;
using Relay.Gateway.Metrics;
using Relay.Gateway.Sessions;
using Relay.Testing.Logging;
using Relay.Tunnel.Pool;

namespace Relay.Gateway.Tests;

public class HealthModelTests
{
    [Test]
    public void Flapping_SignalAroundThreshold_DoesNotMakeTheStateFlap()
    {
        var signal = new ScriptedSignal();
        var monitor = Monitor(signal, out _);
        signal.Next = HealthLevel.Healthy;
        monitor.Evaluate();

        var states = new List<RelayState>();
        for (int i = 0; i < 40; i++)
        {
            signal.Next = i % 2 == 0 ? HealthLevel.Degraded : HealthLevel.Healthy; // oscillates every reading
            states.Add(monitor.Evaluate().State);
        }

        Assert.That(states, Has.All.EqualTo(RelayState.Healthy));

        // Two bad readings out of three: still not three in a row.
        for (int i = 0; i < 30; i++)
        {
            signal.Next = i % 3 == 2 ? HealthLevel.Healthy : HealthLevel.Sick;
            Assert.That(monitor.Evaluate().State, Is.EqualTo(RelayState.Healthy), $"reading {i}");
        }
    }

    [Test]
    public void SustainedChange_MovesTheState_AfterTheConfiguredReadings_WithItsReason()
    {
        var signal = new ScriptedSignal();
        var monitor = Monitor(signal, out _);
        signal.Next = HealthLevel.Healthy;
        monitor.Evaluate();

        signal.Next = HealthLevel.Sick;
        Assert.That(monitor.Evaluate().State, Is.EqualTo(RelayState.Healthy));
        Assert.That(monitor.Evaluate().State, Is.EqualTo(RelayState.Healthy));
        var sick = monitor.Evaluate();
        Assert.That(sick.State, Is.EqualTo(RelayState.Sick));
        Assert.That(sick.Reasons, Is.EqualTo(new[] { "scripted: sick" }));
        Assert.That(sick.AgentLine, Is.EqualTo("down#scripted: sick"));
        Assert.That(sick.Ready, Is.False);

        signal.Next = HealthLevel.Healthy;
        for (int i = 0; i < 4; i++)
        {
            Assert.That(monitor.Evaluate().State, Is.EqualTo(RelayState.Sick), "recovery needs ExitAfter (5) good readings");
        }

        Assert.That(monitor.Evaluate().State, Is.EqualTo(RelayState.Healthy));
    }

    [Test]
    public void Starting_ReadyAtTheFirstHealthyReading_HysteresisOnlyAfterThat()
    {
        // Issue 19: a relay starts sick ("no link yet"); the first reading that is healthy counts at once (the links
        // are up: /readyz 200 now, not ExitAfter readings later). Hysteresis applies to every later change.
        var signal = new ScriptedSignal { Next = HealthLevel.Sick };
        var monitor = Monitor(signal, out _);
        Assert.That(monitor.Evaluate().State, Is.EqualTo(RelayState.Sick));
        Assert.That(monitor.Evaluate().State, Is.EqualTo(RelayState.Sick));

        signal.Next = HealthLevel.Healthy;
        Assert.That(monitor.Evaluate().Ready, Is.True, "ready at the first healthy reading");

        signal.Next = HealthLevel.Sick;
        Assert.That(monitor.Evaluate().State, Is.EqualTo(RelayState.Healthy), "later changes keep their hysteresis");
        Assert.That(monitor.Evaluate().State, Is.EqualTo(RelayState.Healthy));
        Assert.That(monitor.Evaluate().State, Is.EqualTo(RelayState.Sick));
        signal.Next = HealthLevel.Healthy;
        Assert.That(monitor.Evaluate().State, Is.EqualTo(RelayState.Sick), "recovering after the start needs ExitAfter readings");
    }

    [Test]
    public void Degraded_HalvesTheAgentWeight_AndStaysReady()
    {
        var signal = new ScriptedSignal { Next = HealthLevel.Degraded };
        var monitor = Monitor(signal, out _);
        var snapshot = monitor.Evaluate();
        Assert.That(snapshot.State, Is.EqualTo(RelayState.Degraded));
        Assert.That(snapshot.Ready, Is.True);
        Assert.That(snapshot.AgentLine, Is.EqualTo("up ready 50%"));
    }

    [Test]
    public async Task Drain_WithoutAnotherHealthyRelay_IsRefused_AndAllowedWithForce()
    {
        var monitor = Monitor(new ScriptedSignal(), out var drain);
        var refused = drain.Start(force: false, "test");
        Assert.That(refused.Accepted, Is.False);
        Assert.That(refused.Message, Does.Contain("force"));

        var forced = drain.Start(force: true, "test");
        Assert.That(forced.Accepted, Is.True);
        Assert.That(monitor.Current.State, Is.EqualTo(RelayState.Draining));
        Assert.That(monitor.Current.AgentLine, Is.EqualTo("drain"));
        drain.Undrain();
        Assert.That(monitor.Current.State, Is.Not.EqualTo(RelayState.Draining));
    }

    [Test]
    public void SelfDrain_RefusedAsTheLastHealthyRelay_IsLoggedOnce_NotAtEveryEvaluation()
    {
        var time = new FakeTimeProvider();
        var capture = new LogCapture();
        using var loggers = new LoggerFactory([capture]);
        var signal = new ScriptedSignal { Next = HealthLevel.Healthy };
        var monitor = Monitor(signal, out var drain, time, loggers.CreateLogger<HealthMonitor>());
        monitor.MaybeSelfDrain(monitor.Evaluate());
        signal.Next = HealthLevel.Sick;
        for (int i = 0; i < 3; i++)
        {
            monitor.MaybeSelfDrain(monitor.Evaluate());
        }

        // Sick past SelfDrainAfter (60 s), with no fleet view from the core: every try is refused, once a second.
        time.Advance(TimeSpan.FromSeconds(61));
        for (int i = 0; i < 30; i++)
        {
            monitor.MaybeSelfDrain(monitor.Evaluate());
            time.Advance(TimeSpan.FromSeconds(1));
        }

        Assert.That(drain.IsDraining, Is.False);
        Assert.That(capture.Entries.Where(e => e.Contains("[1302]", StringComparison.Ordinal)).ToList(), Has.Count.EqualTo(1));
    }

    [TestCase("operator")]
    [TestCase("core-operator: drain ordered from the fleet view")]
    public void OperatorDrain_DuringASelfDrain_OutlivesTheRecovery(string source)
    {
        var signal = new ScriptedSignal { Next = HealthLevel.Healthy };
        var monitor = Monitor(signal, out var drain);
        monitor.Evaluate();
        signal.Next = HealthLevel.Sick;
        for (int i = 0; i < 3; i++)
        {
            monitor.Evaluate();
        }

        // Sick: the relay drains itself (as HealthMonitor.MaybeSelfDrain does), then an operator drains it for maintenance.
        Assert.That(drain.Start(force: true, "self: sick for 60 s (scripted: sick)").Accepted, Is.True);
        var held = drain.Start(force: false, source);
        Assert.That(held.Accepted, Is.True);

        // Healthy again: the self-drain would end by itself, the operator's does not.
        signal.Next = HealthLevel.Healthy;
        for (int i = 0; i < 10; i++)
        {
            monitor.Evaluate();
        }

        Assert.That(monitor.Current.State, Is.EqualTo(RelayState.Draining), held.Message);
        Assert.That(drain.Describe().Source, Is.EqualTo(source));
        drain.Undrain();
        Assert.That(monitor.Current.State, Is.EqualTo(RelayState.Healthy));
    }

    [Test]
    [CancelAfter(30_000)]
    public async Task AgentPort_AnswersOneLine_UpThenDrain(CancellationToken token)
    {
        await using var gw = await GatewayFixture.StartAsync();
        var agent = (AgentCheckServer)gw.App.Services.GetService(typeof(AgentCheckServer))!;
        int port = await agent.Port;
        Assert.That(await ReadAgentAsync(port, token), Does.Match(@"^up ready \d+%$"));

        var drain = (DrainController)gw.App.Services.GetService(typeof(DrainController))!;
        drain.Start(force: true, "test");
        Assert.That(await ReadAgentAsync(port, token), Is.EqualTo("drain"));
    }

    internal static async Task<string> ReadAgentAsync(int port, CancellationToken token)
    {
        using var client = new TcpClient();
        await client.ConnectAsync(IPAddress.Loopback, port, token);
        using var reader = new StreamReader(client.GetStream(), Encoding.ASCII);
        return (await reader.ReadToEndAsync(token)).Trim();
    }

    private static HealthMonitor Monitor(IHealthSignal signal, out DrainController drain, TimeProvider? time = null, ILogger<HealthMonitor>? logger = null)
    {
        time ??= TimeProvider.System;
        var options = Options.Create(new GatewayOptions
        {
            Backhaul = { SharedKey = GatewayFixture.SharedKey, RelayId = "unit", Endpoints = ["127.0.0.1:1"] },
            Health = { EnterAfter = 3, ExitAfter = 5, Capacity = 100 },
        });
        var meters = new ServiceCollection().AddMetrics().BuildServiceProvider().GetRequiredService<IMeterFactory>();
        var backhaul = new BackhaulService(options, TimeProvider.System, meters, NullLogger<LinkPool>.Instance);
        var sessions = new SessionRegistry(new GatewayMetrics(meters));
        drain = new DrainController(sessions, options, backhaul, time, NullLogger<DrainController>.Instance);
        return new HealthMonitor([signal], options, drain, backhaul, new GatewayMetrics(meters), time, logger ?? NullLogger<HealthMonitor>.Instance);
    }

    private sealed class ScriptedSignal : IHealthSignal
    {
        public HealthLevel Next { get; set; }

        public string Name => "scripted";

        public HealthReading Read() => new(Next, Next == HealthLevel.Healthy ? null : $"scripted: {Next.ToString().ToLowerInvariant()}", new Dictionary<string, object?>());
    }
}
