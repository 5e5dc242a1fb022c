using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;

namespace Relay.Gateway.Tests.Security;

/// <summary>Issue 16, Under Attack mode switches on by itself when a flood of connections arrives (counted at accept, in-process).</summary>
[NonParallelizable]
public class UnderAttackAutoTriggerTests
{
    [Test]
    [CancelAfter(60_000)]
    public async Task AFloodOfIdleConnections_AboveTheNewConnectionThreshold_TurnsTheModeOn(CancellationToken token)
    {
        await using var gateway = await StartWithTriggerAsync(token);
        string http = GatewayHost.Urls(gateway).First(u => u.StartsWith("http://", StringComparison.Ordinal));
        var endpoint = new IPEndPoint(IPAddress.Loopback, new Uri(http).Port);

        var sockets = new List<Socket>();
        try
        {
            for (int i = 0; i < 200; i++) // bounded: 200 idle connections from 50 addresses (within the per-address cap), no request sent
            {
                var s = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                s.Bind(new IPEndPoint(IPAddress.Parse($"127.0.1.{(i % 50) + 1}"), 0));
                await s.ConnectAsync(endpoint, token);
                sockets.Add(s);
            }

            using var client = new HttpClient();
            JsonElement ua = default;
            for (int i = 0; i < 100; i++)
            {
                using var status = JsonDocument.Parse(await client.GetStringAsync($"{http}/status", token));
                ua = status.RootElement.GetProperty("health").GetProperty("underAttack").Clone();
                if (ua.GetProperty("on").GetBoolean())
                {
                    break;
                }

                await Task.Delay(100, token);
            }

            Assert.That(ua.GetProperty("on").GetBoolean(), Is.True, "the flood turned the mode on");
            Assert.That(ua.GetProperty("source").GetString(), Is.EqualTo("auto"));
            Assert.That(ua.GetProperty("trigger").GetString(), Does.Contain("new connections"));
        }
        finally
        {
            foreach (var s in sockets)
            {
                s.Dispose();
            }
        }
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task AFloodThatHitsTheConnectionGate_TurnsTheModeOn_ByRefusedConnections(CancellationToken token)
    {
        // The new-connection trigger stays off (its default): only the gate's refusals and evictions can switch it.
        await using var gw = await GatewayFixture.StartAsync(
            o => { o.MaxPreAuthConnections = 20; o.MaxPreAuthConnectionsPerIp = 2; o.RequestHeadTimeout = TimeSpan.FromMinutes(2); },
            args: ["--Gateway:UnderAttack:RefusedPerSecondOn=20", "--Gateway:UnderAttack:SampleInterval=00:00:01"]);
        var mode = gw.App.Services.GetRequiredService<Relay.Gateway.Security.UnderAttackMode>();
        int port = Edge.RawClient.Port(gw.HttpUrl);
        var sockets = new List<Socket>();
        try
        {
            for (int i = 0; i < 200; i++) // bounded: 200 idle connections from 50 addresses, 4 each (twice the per-address cap)
            {
                sockets.Add(await Edge.RawClient.ConnectAsync(Edge.RawClient.Source(i % 50), port, token));
            }

            for (int i = 0; i < 100 && !mode.IsOn; i++)
            {
                await Task.Delay(100, token);
            }

            var ua = mode.Describe();
            Assert.That(ua.On, Is.True, "the flood at the gate turned the mode on");
            Assert.That(ua.Source, Is.EqualTo("auto"));
            Assert.That(ua.Trigger, Does.Contain("refused connections"));
        }
        finally
        {
            Edge.RawClient.DisposeAll(sockets);
        }
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task OneClientsFloodAtTheGate_IsRefused_ButDoesNotTurnTheModeOnForEveryone(CancellationToken token)
    {
        // One address opens 150 connections with a per-address cap of 2: 148 refused at accept, as before. Counted in full
        // (148 in a second against RefusedPerSecondOn=20) they used to switch the mode on for every new user; one client
        // now adds RefusedPerAddressPerSecond (5) at most. The same flood from 50 addresses still switches it on.
        var time = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var clock = new SessionTests.RunningClock(time); // the gateway's own timers need it to start
        await using var gw = await GatewayFixture.StartAsync(
            o => { o.MaxPreAuthConnections = 200; o.MaxPreAuthConnectionsPerIp = 2; o.RequestHeadTimeout = TimeSpan.FromMinutes(2); },
            args: ["--Gateway:UnderAttack:RefusedPerSecondOn=20", "--Gateway:UnderAttack:RefusedPerAddressPerSecond=5"], time: time);
        await clock.StopAsync(); // from here the rates are sampled only when the test advances the clock
        var mode = gw.App.Services.GetRequiredService<Relay.Gateway.Security.UnderAttackMode>();
        var gate = gw.App.Services.GetRequiredService<Relay.Gateway.Edge.ConnectionGate>();
        int port = Edge.RawClient.Port(gw.HttpUrl);
        var sockets = new List<Socket>();
        try
        {
            for (int i = 0; i < 150; i++)
            {
                sockets.Add(await Edge.RawClient.ConnectAsync(Edge.RawClient.Source(0), port, token));
            }

            while (gate.RefusedPerIp < 148)
            {
                await Task.Delay(20, token); // the listener refuses them as it accepts them
            }

            time.Advance(TimeSpan.FromSeconds(1)); // one sample of the rates
            Assert.That(mode.IsOn, Is.False, "one client's 148 refusals count 5");

            for (int i = 1; i <= 50; i++)
            {
                for (int k = 0; k < 3; k++)
                {
                    sockets.Add(await Edge.RawClient.ConnectAsync(Edge.RawClient.Source(i), port, token));
                }
            }

            while (gate.RefusedPerIp < 148 + 50)
            {
                await Task.Delay(20, token);
            }

            time.Advance(TimeSpan.FromSeconds(1));
            Assert.That(mode.IsOn, Is.True, "50 clients over their limits at once: a flood");
            Assert.That(mode.Describe().Trigger, Does.Contain("refused connections"));
        }
        finally
        {
            Edge.RawClient.DisposeAll(sockets);
        }
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task WhileTheModeIsOn_IdleConnections_AreClosedAtTheShorterHeadDeadline(CancellationToken token)
    {
        await using var gw = await GatewayFixture.StartAsync(
            o => o.RequestHeadTimeout = TimeSpan.FromMinutes(2),
            args: ["--Gateway:UnderAttack:RequestHeadTimeout=00:00:01", "--Gateway:UnderAttack:AutoTrigger=false"]);
        var mode = gw.App.Services.GetRequiredService<Relay.Gateway.Security.UnderAttackMode>();
        int port = Edge.RawClient.Port(gw.HttpUrl);
        var before = new List<Socket>();
        var during = new List<Socket>();
        try
        {
            for (int i = 0; i < 3; i++)
            {
                before.Add(await Edge.RawClient.ConnectAsync(Edge.RawClient.Source(i), port, token));
            }

            Assert.That(await Edge.RawClient.CountClosedAsync(before, TimeSpan.FromSeconds(3), token), Is.Zero, "mode off: the 2 min head deadline");

            mode.Set(true, Relay.Gateway.Security.UnderAttackMode.Operator, "test");
            for (int i = 0; i < 3; i++)
            {
                during.Add(await Edge.RawClient.ConnectAsync(Edge.RawClient.Source(10 + i), port, token));
            }

            Assert.That(await Edge.RawClient.CountClosedAsync(during, TimeSpan.FromSeconds(15), token), Is.EqualTo(3), "mode on: closed at the 1 s head deadline");
        }
        finally
        {
            Edge.RawClient.DisposeAll(before);
            Edge.RawClient.DisposeAll(during);
        }
    }

    private static async Task<Microsoft.AspNetCore.Builder.WebApplication> StartWithTriggerAsync(CancellationToken token)
    {
        var app = GatewayHost.Build(["--Gateway:UnderAttack:NewConnectionsPerSecondOn=50", "--Gateway:UnderAttack:SampleInterval=00:00:01"], o =>
        {
            o.HttpPort = 0;
            o.BindAddress = "127.0.0.1";
            o.PublicKeyPath = GatewayFixture.PublicKeyPath;
            o.Backhaul.Endpoints = ["127.0.0.1:1"];
            o.Backhaul.SharedKey = GatewayFixture.SharedKey;
            o.Backhaul.RelayId = "gw-ua-auto";
            o.Health.EvaluationInterval = TimeSpan.FromMilliseconds(100);
            o.Health.AgentPort = -1;
        });
        await app.StartAsync(token);
        return app;
    }
}
