using Relay.Testing;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Relay.Client;
using Relay.Contracts.Control;
using Relay.CoreSim;
using Relay.Gateway;
using Relay.Gateway.Health;

namespace Relay.Gateway.Tests;

/// <summary>The real chain: Relay.Client → gateway (Kestrel) → backhaul → core-sim.</summary>
[NonParallelizable]
public class CoreSimEndToEndTests
{
    private readonly List<string> _dirs = [];

    // A folder for this test's files (the core's public key), removed after the test whether it passed or not.
    private string TempDir()
    {
        string dir = TempFolders.Create("relay-e2e-");
        _dirs.Add(dir);
        return dir;
    }

    // Where core-sim writes its public key for the gateways, in this test's folder.
    private string PublicKeyPath() => Path.Combine(TempDir(), "core-public.pem");

    [TearDown]
    public void RemoveTempDirs()
    {
        foreach (string dir in _dirs)
        {
            Directory.Delete(dir, recursive: true);
        }

        _dirs.Clear();
    }

    /// <summary>Over HTTP/1.1 upgrades on the plain listener, and as HTTP/2 streams (RFC 8441) on the TLS listener.</summary>
    [TestCase(false)]
    [TestCase(true)]
    [CancelAfter(60_000)]
    public async Task Session_ResumesOnSecondGateway_AfterFirstStops_NothingLost(bool http2, CancellationToken token)
    {
        string publicKey = PublicKeyPath();
        await using var core = await EndToEnd.StartCoreSimAsync(publicKey, token);
        var (cert, key) = TlsTests.WriteSelfSigned(TempDir());
        Action<Relay.Gateway.Configuration.GatewayOptions>? tls = http2 ? o => { o.CertificatePath = cert; o.CertificateKeyPath = key; o.HttpsPort = 0; } : null;

        var first = await StartGatewayAsync("gw-a", core.BackhaulPort, publicKey, tls);
        await using var second = await StartGatewayAsync("gw-b", core.BackhaulPort, publicKey, tls);
        Uri[] urls = http2 ? [WssUri(first), WssUri(second)] : [EndToEnd.WsUri(first), EndToEnd.WsUri(second)];

        using var handler = new SocketsHttpHandler { SslOptions = { RemoteCertificateValidationCallback = (_, c, _, _) => c?.Subject == "CN=localhost" } };
        using var invoker = new HttpMessageInvoker(handler);
        await using var client = new RelayClient(new RelayClientOptions
        {
            Urls = urls,
            TokenProvider = _ => ValueTask.FromResult(core.Tokens.Issue("visitor-1", "s1", "visitor", TimeSpan.FromHours(1)).Token),
            ReconnectBaseDelay = TimeSpan.FromMilliseconds(50),
            HttpVersion = http2 ? System.Net.HttpVersion.Version20 : System.Net.HttpVersion.Version11,
            HttpInvoker = http2 ? invoker : null,
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
        var metrics = second.Services.GetRequiredService<Relay.Gateway.Metrics.GatewayMetrics>();
        Assert.That(metrics.HttpUpgrades, Is.EqualTo(http2 ? 1 : 0), "HTTP/2 streams go through ASP.NET Core; HTTP/1.1 upgrades do not");
    }

    private static Uri WssUri(Microsoft.AspNetCore.Builder.WebApplication gateway) =>
        new("wss" + GatewayHost.Urls(gateway).First(u => u.StartsWith("https://", StringComparison.Ordinal))[5..] + "/ws");

    [Test]
    [CancelAfter(60_000)]
    public async Task Outbox_LargerThanTheRelaysBurst_IsDeliveredOnOneConnection_NotClosedForRate(CancellationToken token)
    {
        // A user who typed while offline (or whose relay went away) comes back with more messages than the relay's
        // burst (the defaults: 20 per second, a burst of 40); the SDK sends its whole outbox at once. The relay holds
        // such a client to its rate: nothing is closed, nothing lost, nothing resent.
        const int Count = 70;
        var changes = new List<RelayStateChange>();
        string publicKey = PublicKeyPath();
        await using var core = await EndToEnd.StartCoreSimAsync(publicKey, token);
        await using var gateway = await StartGatewayAsync("gw-rate", core.BackhaulPort, publicKey);
        var metrics = gateway.Services.GetRequiredService<Relay.Gateway.Metrics.GatewayMetrics>();
        await using var client = new RelayClient(new RelayClientOptions
        {
            Urls = [EndToEnd.WsUri(gateway)],
            TokenProvider = _ => ValueTask.FromResult(core.Tokens.Issue("visitor-outbox", "s1", "visitor", TimeSpan.FromHours(1)).Token),
            ReconnectBaseDelay = TimeSpan.FromMilliseconds(50),
        });
        client.StateChanged += c => { lock (changes) { changes.Add(c); } };
        for (int i = 0; i < Count; i++)
        {
            await client.SendAsync($"m{i}", cancellationToken: token); // into the outbox: not connected yet
        }

        await client.ConnectAsync(token);
        var bodies = new List<string>();
        await foreach (var m in client.ReadAllAsync(token))
        {
            bodies.Add(m.Body);
            if (bodies.Count == Count)
            {
                break;
            }
        }

        Assert.That(bodies, Is.EqualTo(Enumerable.Range(0, Count).Select(i => $"m{i}")), "every echo exactly once, in order");
        lock (changes)
        {
            Assert.That(changes.Where(c => c.CloseCode is not null).Select(c => $"{c.CloseCode} {c.Reason}"), Is.Empty, "no connection closed on the way");
        }

        Assert.That(metrics.Closes(1008), Is.Zero, "the relay closed nobody for its message rate");
        Assert.That(metrics.Opens, Is.EqualTo(1), "one session, one connection");
    }

    [TestCase(1000, 50, 56)] // a second: a stall of the loop below (10 ms apart) on a loaded machine sends no ack of its own
    [TestCase(0, 100, 106)]
    [CancelAfter(60_000)]
    public async Task DelayedAck_RidesOnTheNextMessage_SoEachEchoCostsTwoFramesNotThree(int ackDelayMs, int minFrames, int maxFrames, CancellationToken token)
    {
        string publicKey = PublicKeyPath();
        await using var core = await EndToEnd.StartCoreSimAsync(publicKey, token);
        await using var gateway = await StartGatewayAsync("gw-ack", core.BackhaulPort, publicKey);
        var metrics = Microsoft.Extensions.DependencyInjection.ServiceProviderServiceExtensions.GetRequiredService<Relay.Gateway.Metrics.GatewayMetrics>(gateway.Services);
        await using var client = new RelayClient(new RelayClientOptions
        {
            Urls = [EndToEnd.WsUri(gateway)],
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
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task ControlPlane_ReportsFleetViewAndDrainOrders_ArriveTypedBothWays(CancellationToken token)
    {
        string publicKey = PublicKeyPath();
        await using var core = await EndToEnd.StartCoreSimAsync(publicKey, token);
        await using var a = await StartGatewayAsync("gw-a", core.BackhaulPort, publicKey);
        await using var b = await StartGatewayAsync("gw-b", core.BackhaulPort, publicKey);
        var drainA = a.Services.GetRequiredService<DrainController>();
        using var http = new HttpClient { BaseAddress = core.HttpUri };
        http.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", core.AdminKey);

        // relay → core: both relays' health reports decoded into core-sim's fleet view.
        await UntilAsync(async () => await FleetStateAsync(http, "gw-a", token) == "healthy" && await FleetStateAsync(http, "gw-b", token) == "healthy", "both relays healthy in core-sim's /fleet", token);

        // core → relay: the fleet view, as the relay holds it.
        await UntilAsync(() => Task.FromResult(drainA.Fleet?.Relays.GetValueOrDefault("gw-b") == RelayStatus.Healthy), "gw-a knows gw-b is healthy", token);

        // core → relay: an operator's drain order from the dashboard, then undrain; the report shows the drain.
        using (var response = await http.PostAsync("/v1/relays/gw-a/drain", null, token))
        {
            Assert.That((int)response.StatusCode, Is.EqualTo(202));
        }

        await UntilAsync(() => Task.FromResult(drainA.IsDraining), "gw-a drains on the core's order", token);
        await UntilAsync(async () => await FleetStateAsync(http, "gw-a", token) == "draining", "core-sim sees gw-a draining", token);
        using (var response = await http.PostAsync("/v1/relays/gw-a/undrain", null, token))
        {
            Assert.That((int)response.StatusCode, Is.EqualTo(202));
        }

        await UntilAsync(() => Task.FromResult(!drainA.IsDraining), "gw-a takes sessions again on the core's undrain", token);
        Assert.That(drainA.Describe().LastCoreCommand, Is.EqualTo("undrain: taking sessions again"));
    }

    private static async Task<string?> FleetStateAsync(HttpClient http, string relayId, CancellationToken token)
    {
        var fleet = await http.GetFromJsonAsync<JsonElement>("/fleet", token);
        return fleet.GetProperty("relays").EnumerateArray().Where(r => r.GetProperty("relayId").GetString() == relayId).Select(r => r.GetProperty("state").GetString()).FirstOrDefault();
    }

    /// <summary>Waits for <paramref name="condition"/>, checking every 50 ms, at most 800 times (the test's CancelAfter ends it sooner).</summary>
    private static async Task UntilAsync(Func<Task<bool>> condition, string what, CancellationToken token)
    {
        for (int i = 0; i < 800; i++)
        {
            if (await condition())
            {
                return;
            }

            await Task.Delay(50, token);
        }

        Assert.Fail($"never: {what}");
    }

    /// <summary>
    /// Relay.Client with <c>HttpVersion</c> 2.0 (what a browser does on a page it loaded over HTTP/2): its sessions are
    /// RFC 8441 streams on one HTTP/2 connection to the relay's TLS listener, and carry messages both ways.
    /// </summary>
    [Test]
    [CancelAfter(60_000)]
    public async Task Client_OverHttp2_OnTheTlsListener_CarriesMessages_OnOneConnection(CancellationToken token)
    {
        string publicKey = PublicKeyPath();
        await using var core = await EndToEnd.StartCoreSimAsync(publicKey, token);
        var (cert, key) = TlsTests.WriteSelfSigned(TempDir());
        await using var gateway = await StartGatewayAsync("gw-h2", core.BackhaulPort, publicKey, o => { o.CertificatePath = cert; o.CertificateKeyPath = key; o.HttpsPort = 0; });
        int connections = 0;
        using var handler = new SocketsHttpHandler
        {
            SslOptions = { RemoteCertificateValidationCallback = (_, c, _, _) => c?.Subject == "CN=localhost" },
            ConnectCallback = async (context, ct) =>
            {
                Interlocked.Increment(ref connections);
                var socket = new System.Net.Sockets.Socket(System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Tcp);
                await socket.ConnectAsync(context.DnsEndPoint, ct);
                return new System.Net.Sockets.NetworkStream(socket, ownsSocket: true);
            },
        };
        using var invoker = new HttpMessageInvoker(handler);
        await using var client = new RelayClient(new RelayClientOptions
        {
            Urls = [WssUri(gateway)],
            TokenProvider = _ => ValueTask.FromResult(core.Tokens.Issue("visitor-h2", "s1", "visitor", TimeSpan.FromHours(1)).Token),
            HttpVersion = System.Net.HttpVersion.Version20,
            HttpInvoker = invoker,
        });
        await client.ConnectAsync(token);
        await client.SendAsync("over h2", cancellationToken: token);
        await foreach (var m in client.ReadAllAsync(token))
        {
            Assert.That(m.Body, Is.EqualTo("over h2"));
            break;
        }

        var metrics = gateway.Services.GetRequiredService<Relay.Gateway.Metrics.GatewayMetrics>();
        Assert.That((metrics.HttpUpgrades, metrics.FastUpgrades, metrics.TlsDirectSessions), Is.EqualTo((1L, 0L, 0L)), "an HTTP/2 stream, through ASP.NET Core");
        Assert.That(connections, Is.EqualTo(1));
    }

    [Test]
    public void Client_HttpVersionOtherThan11Or2_IsAClearError()
    {
        var e = Assert.Throws<ArgumentException>(() => _ = new RelayClient(new RelayClientOptions
        {
            Urls = [new Uri("wss://relay.example/ws")],
            TokenProvider = _ => ValueTask.FromResult("t"),
            HttpVersion = System.Net.HttpVersion.Version30,
        }));
        Assert.That(e!.Message, Does.Contain("HttpVersion: must be 1.1 or 2.0"));
    }

    private static async Task<Microsoft.AspNetCore.Builder.WebApplication> StartGatewayAsync(string id, int backhaulPort, string publicKey, Action<Relay.Gateway.Configuration.GatewayOptions>? configure = null)
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
            configure?.Invoke(o);
        });
        return await EndToEnd.StartUntilReadyAsync(app);
    }
}
