using System.Net;
using System.Net.Sockets;
using System.Text.Json;

namespace Relay.Gateway.Tests.Security;

/// <summary>Issue 16, Under Attack mode switches on by itself when a flood of connections arrives (Kestrel's connections, counted in-process).</summary>
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
