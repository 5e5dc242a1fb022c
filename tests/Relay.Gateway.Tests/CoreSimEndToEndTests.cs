using Relay.Client;
using Relay.CoreSim;
using Relay.Gateway;

namespace Relay.Gateway.Tests;

/// <summary>The real chain: Relay.Client → gateway (Kestrel) → backhaul → core-sim.</summary>
[NonParallelizable]
public class CoreSimEndToEndTests
{
    [Test]
    [CancelAfter(60_000)]
    public async Task Session_ResumesOnSecondGateway_AfterFirstStops_NothingLost(CancellationToken token)
    {
        string dir = Directory.CreateTempSubdirectory("relay-e2e-").FullName;
        string publicKey = Path.Combine(dir, "core-public.pem");
        await using var core = await StartCoreAsync(publicKey, token);

        var first = await StartGatewayAsync("gw-a", core.BackhaulPort, publicKey);
        await using var second = await StartGatewayAsync("gw-b", core.BackhaulPort, publicKey);
        Uri[] urls = [WsUri(first), WsUri(second)];

        await using var client = new RelayClient(new RelayClientOptions
        {
            Urls = urls,
            TokenProvider = _ => ValueTask.FromResult(core.Tokens.Issue("visitor-1", "s1", "visitor", TimeSpan.FromHours(1)).Token),
            ReconnectBaseDelay = TimeSpan.FromMilliseconds(50),
        });
        await client.ConnectAsync(token);
        var received = new List<ChatMessage>();
        var reader = Task.Run(async () =>
        {
            await foreach (var m in client.ReadAllAsync(token))
            {
                lock (received)
                {
                    received.Add(m);
                    if (received.Count == 40)
                    {
                        return;
                    }
                }
            }
        }, token);

        for (int i = 0; i < 20; i++)
        {
            await client.SendAsync($"m{i}", cancellationToken: token);
        }

        await first.StopAsync(token); // the first relay goes away (closes its sessions with 1001)
        await first.DisposeAsync();
        for (int i = 20; i < 40; i++)
        {
            await client.SendAsync($"m{i}", cancellationToken: token);
        }

        await reader;
        Assert.That(received.Select(m => m.Body), Is.EqualTo(Enumerable.Range(0, 40).Select(i => $"m{i}")), "every echo exactly once, in order, across the move");
        Assert.That(client.State, Is.EqualTo(RelayClientState.Connected));
        Directory.Delete(dir, recursive: true);
    }

    [TestCase(200, 50, 56)]
    [TestCase(0, 100, 106)]
    [CancelAfter(60_000)]
    public async Task DelayedAck_RidesOnTheNextMessage_SoEachEchoCostsTwoFramesNotThree(int ackDelayMs, int minFrames, int maxFrames, CancellationToken token)
    {
        string dir = Directory.CreateTempSubdirectory("relay-e2e-").FullName;
        string publicKey = Path.Combine(dir, "core-public.pem");
        await using var core = await StartCoreAsync(publicKey, token);
        await using var gateway = await StartGatewayAsync("gw-ack", core.BackhaulPort, publicKey);
        var metrics = Microsoft.Extensions.DependencyInjection.ServiceProviderServiceExtensions.GetRequiredService<Relay.Gateway.Metrics.GatewayMetrics>(gateway.Services);
        await using var client = new RelayClient(new RelayClientOptions
        {
            Urls = [WsUri(gateway)],
            TokenProvider = _ => ValueTask.FromResult(core.Tokens.Issue("visitor-ack", "s1", "visitor", TimeSpan.FromHours(1)).Token),
            AckDelay = TimeSpan.FromMilliseconds(ackDelayMs),
        });
        await client.ConnectAsync(token);
        long before = metrics.MessagesIn; // the hello

        // 50 messages 10 ms apart, each echoed within about a millisecond: with a delayed ack, each echo's ack rides
        // on the next message; without, every echo is acknowledged by a frame of its own.
        await using var echoes = client.ReadAllAsync(token).GetAsyncEnumerator(token);
        for (int i = 0; i < 50; i++)
        {
            await client.SendAsync($"m{i}", cancellationToken: token);
            Assert.That(await echoes.MoveNextAsync(), Is.True);
            Assert.That(echoes.Current.Body, Is.EqualTo($"m{i}"));
            await Task.Delay(10, token);
        }

        // The last echo's ack goes out on its own (at once without a delay): wait until it could have been counted.
        while (metrics.MessagesIn - before < minFrames)
        {
            await Task.Delay(10, token);
        }

        long frames = metrics.MessagesIn - before;
        Assert.That(frames, Is.InRange(minFrames, maxFrames), $"client → relay frames for 50 echoes with AckDelay {ackDelayMs} ms");
        Directory.Delete(dir, recursive: true);
    }

    private static Task<CoreSimHost> StartCoreAsync(string publicKey, CancellationToken token) => CoreSimHost.StartAsync(o =>
    {
        o.BindAddress = "127.0.0.1";
        o.HttpPort = 0;
        o.BackhaulPort = 0;
        o.SharedKey = GatewayFixture.SharedKey;
        o.PublicKeyPath = publicKey;
    }, token);

    private static Uri WsUri(Microsoft.AspNetCore.Builder.WebApplication app)
    {
        string http = GatewayHost.Urls(app).First(u => u.StartsWith("http://", StringComparison.Ordinal));
        return new Uri("ws" + http[4..] + "/ws");
    }

    private static async Task<Microsoft.AspNetCore.Builder.WebApplication> StartGatewayAsync(string id, int backhaulPort, string publicKey)
    {
        var app = GatewayHost.Build([], o =>
        {
            o.HttpPort = 0;
            o.BindAddress = "127.0.0.1";
            o.PublicKeyPath = publicKey;
            o.Backhaul.Endpoints = [$"127.0.0.1:{backhaulPort}"];
            o.Backhaul.SharedKey = GatewayFixture.SharedKey;
            o.Backhaul.RelayId = id;
            o.Backhaul.LinksPerEndpoint = 2;
            o.ShutdownTimeout = TimeSpan.FromSeconds(5);
            o.Health.EvaluationInterval = TimeSpan.FromMilliseconds(100);
            o.Health.AgentPort = 0;
        });
        await app.StartAsync();
        using var http = new HttpClient();
        string url = GatewayHost.Urls(app).First(u => u.StartsWith("http://", StringComparison.Ordinal));
        for (int i = 0; i < 200 && (await http.GetAsync(url + "/readyz")).StatusCode != System.Net.HttpStatusCode.OK; i++)
        {
            await Task.Delay(50);
        }

        return app;
    }
}
