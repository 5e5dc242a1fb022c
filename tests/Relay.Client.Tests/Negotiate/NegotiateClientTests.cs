using System.Net;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Net.WebSockets;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Relay.Contracts.Control;
using Relay.Contracts.Regions;
using Relay.CoreSim;
using Relay.Testing;
using Relay.Testing.Processes;
using Relay.Testing.Steering;

namespace Relay.Client.Tests.Negotiate;

/// <summary>
/// Relay.Client with a negotiate URL (issue 17): the first candidate, the race to the second when the first never
/// welcomes (the loser closed), and the next candidate (after the backoff) when a relay dies (a real gateway process, SIGKILLed).
/// </summary>
[TestFixture]
[NonParallelizable]
public sealed class NegotiateClientTests
{
    private const string SharedKey = "Eq8iNmx8+BpPcEhyGnIsOgqZgN0JkD7IhTwEz5D0M78=";

    /// <summary>An in-process core-sim on loopback, free ports.</summary>
    private static Task<CoreSimHost> StartCoreAsync(CancellationToken ct) => CoreSimHost.StartAsync(o =>
    {
        o.BindAddress = "127.0.0.1";
        o.HttpPort = 0;
        o.BackhaulPort = 0;
    }, ct);

    [Test]
    [CancelAfter(30_000)]
    public async Task Race_FirstCandidateNeverWelcomes_SecondWins_AndTheFirstIsClosed(CancellationToken ct)
    {
        await using var core = await StartCoreAsync(ct);

        // The stalled relay: a real TCP listener that accepts and never answers the websocket upgrade.
        using var stalled = new TcpListener(IPAddress.Loopback, 0);
        stalled.Start();
        var accepted = stalled.AcceptTcpClientAsync(ct).AsTask();
        using var negotiate = StaticJsonServer.Start(new NegotiateResponse("sg", "test: the first relay stalls", [
            new NegotiateRelay("stalled", "sg", $"ws://127.0.0.1:{((IPEndPoint)stalled.LocalEndpoint).Port}/ws", 100, RelayStatus.Healthy, 0),
            new NegotiateRelay("core", "sg", core.WebSocketUri.ToString(), 90, RelayStatus.Healthy, 0)]).ToJson());

        // The connect timeout is an hour: without the race the client would wait on the stalled relay until the test is cancelled.
        await using var client = new RelayClient(new RelayClientOptions
        {
            NegotiateUrl = negotiate.Url,
            TokenProvider = _ => ValueTask.FromResult(core.Tokens.Issue("v-race", "s1", "visitor", TimeSpan.FromHours(1)).Token),
            ConnectTimeout = TimeSpan.FromHours(1),
        });
        await client.ConnectAsync(ct);

        Assert.That(client.Steering, Is.Not.Null);
        Assert.Multiple(() =>
        {
            Assert.That(client.Steering!.RelayId, Is.EqualTo("core"));
            Assert.That(client.Steering.Region, Is.EqualTo("sg"));
            Assert.That(client.Steering.Reason, Is.EqualTo("test: the first relay stalls"));
        });

        // The loser's connection is closed by the client: the stalled relay reads the end of its stream.
        using var loser = await accepted;
        int total = await ReadToEndAsync(loser, ct);
        Assert.That(total, Is.GreaterThan(0), "the client did ask the stalled relay first");

        // The session works on the winner: an echo comes back.
        await client.SendAsync("after the race", cancellationToken: ct);
        await foreach (var message in client.ReadAllAsync(ct))
        {
            Assert.That(message.Body, Is.EqualTo("after the race"));
            break;
        }

        // The connection breaks: the list is used up, negotiate is asked again, and the measured relay of the region goes
        // first (the stalled one has no handshake time): the resume lands on it without touching the stalled relay.
        Assert.That(client.HandshakeTimes.Keys, Is.EqualTo(new[] { core.WebSocketUri.ToString() }));
        var resumed = Resumed(client);
        client.DropConnection();
        await resumed.WaitAsync(ct);
        Assert.Multiple(() =>
        {
            Assert.That(negotiate.Requests, Is.EqualTo(2), "asked again once the list was used up");
            Assert.That(client.Steering!.RelayId, Is.EqualTo("core"));
            Assert.That(stalled.Pending(), Is.False, "the stalled relay was not tried again");
        });
    }

    [Test]
    [CancelAfter(30_000)]
    public async Task Race_FirstUpgradesButNeverWelcomes_ItGetsTheHelloThenAClose1000(CancellationToken ct)
    {
        await using var core = await StartCoreAsync(ct);

        // The slow relay: a real websocket server (upgrade answered) that reads the hello and never welcomes.
        using var slow = new TcpListener(IPAddress.Loopback, 0);
        slow.Start();
        var observed = ObserveSilentRelayAsync(slow, ct);
        using var negotiate = StaticJsonServer.Start(new NegotiateResponse("sg", "test", [
            new NegotiateRelay("slow", "sg", $"ws://127.0.0.1:{((IPEndPoint)slow.LocalEndpoint).Port}/ws", 100, RelayStatus.Healthy, 0),
            new NegotiateRelay("core", "sg", core.WebSocketUri.ToString(), 90, RelayStatus.Healthy, 0)]).ToJson());
        await using var client = new RelayClient(new RelayClientOptions
        {
            NegotiateUrl = negotiate.Url,
            TokenProvider = _ => ValueTask.FromResult(core.Tokens.Issue("v-close", "s1", "visitor", TimeSpan.FromHours(1)).Token),
            ConnectTimeout = TimeSpan.FromHours(1),
        });
        await client.ConnectAsync(ct);

        var (hello, close) = await observed;
        Assert.Multiple(() =>
        {
            Assert.That(client.Steering!.RelayId, Is.EqualTo("core"));
            Assert.That(hello, Does.Contain("\"type\":\"hello\"").And.Not.Contain("resume"), "a new session's hello on the first candidate too");
            Assert.That(close, Is.EqualTo(WebSocketCloseStatus.NormalClosure), "the loser is closed with 1000");
        });
    }

    /// <summary>Accepts one websocket upgrade, reads the first message, never answers it, and returns it with the close status the client sends.</summary>
    private static async Task<(string Hello, WebSocketCloseStatus? Close)> ObserveSilentRelayAsync(TcpListener listener, CancellationToken ct)
    {
        using var connection = await listener.AcceptTcpClientAsync(ct);
        var stream = connection.GetStream();
        var head = new StringBuilder();
        var one = new byte[1];
        while (head.Length < 16 * 1024 && !head.ToString().EndsWith("\r\n\r\n", StringComparison.Ordinal))
        {
            if (await stream.ReadAsync(one, ct) == 0)
            {
                return (string.Empty, null);
            }

            head.Append((char)one[0]);
        }

        string key = head.ToString().Split("\r\n").First(l => l.StartsWith("Sec-WebSocket-Key:", StringComparison.OrdinalIgnoreCase))["Sec-WebSocket-Key:".Length..].Trim();
        string accept = Convert.ToBase64String(SHA1.HashData(Encoding.ASCII.GetBytes(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11")));
        await stream.WriteAsync(Encoding.ASCII.GetBytes($"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {accept}\r\n\r\n"), ct);
        using var socket = WebSocket.CreateFromStream(stream, new WebSocketCreationOptions { IsServer = true });
        var buffer = new byte[64 * 1024];
        string hello = string.Empty;
        for (int i = 0; i < 100; i++)
        {
            var result = await socket.ReceiveAsync(buffer, ct);
            if (result.MessageType == WebSocketMessageType.Close)
            {
                return (hello, result.CloseStatus);
            }

            hello = hello.Length == 0 ? Encoding.UTF8.GetString(buffer, 0, result.Count) : hello;
        }

        return (hello, null);
    }

    [Test]
    [CancelAfter(30_000)]
    public async Task Resume_RacesTheUpgradeOnly_AndSendsTheResumeHelloOnTheSocketThatOpens(CancellationToken ct)
    {
        await using var core = await StartCoreAsync(ct);
        using var stalled = new TcpListener(IPAddress.Loopback, 0);
        stalled.Start();

        // Different regions: no reordering by handshake time, so every attempt starts with the stalled relay.
        using var negotiate = StaticJsonServer.Start(new NegotiateResponse("sg", "test", [
            new NegotiateRelay("stalled", "sg", $"ws://127.0.0.1:{((IPEndPoint)stalled.LocalEndpoint).Port}/ws", 100, RelayStatus.Healthy, 0),
            new NegotiateRelay("core", "syd", core.WebSocketUri.ToString(), 90, RelayStatus.Healthy, 0)]).ToJson());
        await using var client = new RelayClient(new RelayClientOptions
        {
            NegotiateUrl = negotiate.Url,
            TokenProvider = _ => ValueTask.FromResult(core.Tokens.Issue("v-resume-race", "s1", "visitor", TimeSpan.FromHours(1)).Token),
            ConnectTimeout = TimeSpan.FromHours(1),
        });
        await client.ConnectAsync(ct);
        string session = client.SessionId!;
        using (var first = await stalled.AcceptTcpClientAsync(ct))
        {
            await ReadToEndAsync(first, ct);
        }

        var resumed = Resumed(client);
        client.DropConnection();
        await resumed.WaitAsync(ct);

        using var second = await stalled.AcceptTcpClientAsync(ct);
        Assert.Multiple(() =>
        {
            Assert.That(client.SessionId, Is.EqualTo(session), "the same session, resumed");
            Assert.That(client.Steering!.RelayId, Is.EqualTo("core"));
            Assert.That(client.Steering.RelayRegion, Is.EqualTo("syd"));
        });
        Assert.That(await ReadToEndAsync(second, ct), Is.GreaterThan(0), "the stalled relay was asked first, then closed");

        await client.SendAsync("resumed", cancellationToken: ct);
        await foreach (var message in client.ReadAllAsync(ct))
        {
            Assert.That(message.Body, Is.EqualTo("resumed"));
            break;
        }
    }

    [Test]
    [CancelAfter(120_000)]
    public async Task TokenExpiry4003_WithoutTokenProvider_RenewsThroughNegotiate_AndResumes(CancellationToken ct)
    {
        if (Repo.MissingBuild() is { } missing)
        {
            Assert.Inconclusive(missing);
        }

        string dir = TempFolders.Create("relay-negotiate-token-");
        string publicKey = Path.Combine(dir, "core-public.pem");
        await using var core = await CoreSimHost.StartAsync(o =>
        {
            o.BindAddress = "127.0.0.1";
            o.HttpPort = 0;
            o.BackhaulPort = 0;
            o.SharedKey = SharedKey;
            o.PublicKeyPath = publicKey;
            o.FleetBroadcastInterval = TimeSpan.FromMilliseconds(200);
        }, ct);
        var coreNegotiate = new Uri(core.HttpUri, "/v1/negotiate");
        int port = Ports.Free();
        await using var gateway = GatewayProcess.StartAt(port, "gw-token", core.BackhaulPort, publicKey, SharedKey,
            $"--Gateway:Negotiate:PublicUrl=ws://127.0.0.1:{port}/ws", $"--Gateway:Negotiate:TokenUrl={coreNegotiate}", "--Gateway:TokenClockSkew=00:00:00");
        await gateway.WaitReadyAsync(ct);

        // The client asks the gateway's negotiate; the gateway's answer lists itself once the core's fleet view does.
        var negotiateUrl = new Uri($"http://127.0.0.1:{port}/v1/negotiate");
        using var http = new HttpClient();
        int listed = 0;
        for (int i = 0; i < 200 && listed == 0; i++)
        {
            using var response = await http.GetAsync(negotiateUrl, ct);
            listed = response.IsSuccessStatusCode ? (await response.Content.ReadFromJsonAsync<JsonElement>(ct)).GetProperty("relays").GetArrayLength() : 0;
            await Task.Delay(50, ct);
        }

        Assert.That(listed, Is.EqualTo(1));
        var (shortLived, _) = core.Tokens.Issue("v-renew", "s1", "visitor", TimeSpan.FromSeconds(8)); // 7-8 s (exp in whole seconds): the first connect must fit in it on a loaded machine
        var changes = new List<RelayStateChange>();
        await using var client = new RelayClient(new RelayClientOptions { NegotiateUrl = negotiateUrl, AccessToken = shortLived });
        client.StateChanged += change =>
        {
            lock (changes)
            {
                changes.Add(change);
            }
        };
        var resumed = Resumed(client);
        await client.ConnectAsync(ct);
        string session = client.SessionId!;

        await resumed.WaitAsync(ct); // after 4003 at exp: a token from POST negotiate (the gateway's tokenUrl: the core), then a resume

        lock (changes)
        {
            Assert.That(changes.Select(c => c.CloseCode), Does.Contain(4003));
        }

        Assert.That(client.SessionId, Is.EqualTo(session));
        await client.SendAsync("renewed", cancellationToken: ct);
        await foreach (var message in client.ReadAllAsync(ct))
        {
            Assert.That(message.Body, Is.EqualTo("renewed"));
            break;
        }
    }

    [Test]
    [CancelAfter(30_000)]
    public async Task RefreshRefused_SessionPastMaxSessionAge_ClientStops_SayingSignInAgain_AndAsksOnce(CancellationToken ct)
    {
        await using var core = await StartCoreAsync(ct);

        // As from a gateway: the list names the core's /ws, and a fresh token comes from the core's negotiate (tokenUrl).
        using var negotiate = StaticJsonServer.Start(new NegotiateResponse("sg", "test", [
            new NegotiateRelay("core", "sg", core.WebSocketUri.ToString(), 100, RelayStatus.Healthy, 0)],
            TokenUrl: new Uri(core.HttpUri, "/v1/negotiate").ToString()).ToJson());

        // Expired a minute ago (inside the refresh window), of a sign-in 25 hours ago (past MaxSessionAge, 24 h).
        var (old, _) = core.Tokens.Issue("v-old", "s1", "visitor", TimeSpan.FromMinutes(-1), DateTimeOffset.UtcNow.AddHours(-25));
        var closed = new TaskCompletionSource<RelayStateChange>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var client = new RelayClient(new RelayClientOptions
        {
            NegotiateUrl = negotiate.Url,
            AccessToken = old,
            ReconnectBaseDelay = TimeSpan.FromMilliseconds(20),
            ReconnectMaxDelay = TimeSpan.FromMilliseconds(200),
        });
        client.StateChanged += change =>
        {
            if (change.State == RelayClientState.Closed)
            {
                closed.TrySetResult(change);
            }
        };

        var refused = Assert.ThrowsAsync<WebSocketException>(() => client.ConnectAsync(ct));
        var end = await closed.Task.WaitAsync(ct);

        Assert.Multiple(() =>
        {
            Assert.That(refused!.Message, Does.Contain("sign in again"), "the core's reason");
            Assert.That(end.Reason, Does.Contain("sign in again"));
            Assert.That(end.CloseCode, Is.EqualTo(4003), "token expired, as the JS SDK ends");
            Assert.That(negotiate.Requests, Is.EqualTo(2), "the list, then one refresh: no retry of a refused token");
        });
    }

    [Test]
    [CancelAfter(30_000)]
    public async Task CandidateWithABadUrl_IsSkipped(CancellationToken ct)
    {
        await using var core = await StartCoreAsync(ct);
        using var negotiate = StaticJsonServer.Start(new NegotiateResponse("sg", "test", [
            new NegotiateRelay("bad", "sg", "not a url", 100, RelayStatus.Healthy, 0),
            new NegotiateRelay("http", "sg", "http://127.0.0.1:1/ws", 100, RelayStatus.Healthy, 0),
            new NegotiateRelay("core", "sg", core.WebSocketUri.ToString(), 90, RelayStatus.Healthy, 0)]).ToJson());
        await using var client = new RelayClient(new RelayClientOptions
        {
            NegotiateUrl = negotiate.Url,
            TokenProvider = _ => ValueTask.FromResult(core.Tokens.Issue("v-bad", "s1", "visitor", TimeSpan.FromHours(1)).Token),
        });

        await client.ConnectAsync(ct);

        Assert.That(client.Steering!.RelayId, Is.EqualTo("core"));
    }

    [Test]
    public void Options_NegotiateUrlWithoutAnyToken_OrNotHttp_AreRefused()
    {
        Assert.That(() => new RelayClient(new RelayClientOptions { NegotiateUrl = new Uri("http://127.0.0.1:1/v1/negotiate") }), Throws.ArgumentException.With.Message.Contains("TokenProvider"));
        Assert.That(() => new RelayClient(new RelayClientOptions { NegotiateUrl = new Uri("ws://127.0.0.1:1/v1/negotiate"), AccessToken = "t" }), Throws.ArgumentException.With.Message.Contains("NegotiateUrl"));
        Assert.That(() => new RelayClient(new RelayClientOptions { NegotiateUrl = new Uri("http://127.0.0.1:1/v1/negotiate"), AccessToken = "t", RaceAfter = TimeSpan.FromMinutes(1) }), Throws.ArgumentException.With.Message.Contains("RaceAfter"));
    }

    /// <summary>Completes at the client's next Connected state that is a resume.</summary>
    private static Task Resumed(RelayClient client)
    {
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        client.StateChanged += change =>
        {
            if (change.State == RelayClientState.Connected && change.Resumed)
            {
                done.TrySetResult();
            }
        };
        return done.Task;
    }

    /// <summary>Reads until the peer closes (or resets); the bytes read. Ends only when the client closes the connection (or the test is cancelled).</summary>
    private static async Task<int> ReadToEndAsync(TcpClient connection, CancellationToken ct)
    {
        var buffer = new byte[4096];
        int total = 0;
        for (int i = 0; i < 100; i++)
        {
            int read;
            try
            {
                read = await connection.GetStream().ReadAsync(buffer, ct);
            }
            catch (IOException)
            {
                break;
            }

            if (read == 0)
            {
                break;
            }

            total += read;
        }

        return total;
    }

    [Test]
    [CancelAfter(120_000)]
    public async Task FirstCandidate_ThenItsRelayIsKilled_NextCandidate_EveryMessageOnceInOrder(CancellationToken ct)
    {
        if (Repo.MissingBuild() is { } missing)
        {
            Assert.Inconclusive(missing);
        }

        string dir = TempFolders.Create("relay-negotiate-client-");
        string publicKey = Path.Combine(dir, "core-public.pem");
        await using var core = await CoreSimHost.StartAsync(o =>
        {
            o.BindAddress = "127.0.0.1";
            o.HttpPort = 0;
            o.BackhaulPort = 0;
            o.SharedKey = SharedKey;
            o.PublicKeyPath = publicKey;
            o.FleetBroadcastInterval = TimeSpan.FromMilliseconds(200);
        }, ct);
        var gateways = new Dictionary<string, GatewayProcess>(StringComparer.Ordinal);
        try
        {
            foreach (string id in new[] { "gw-a", "gw-b" })
            {
                int port = Ports.Free();
                gateways[id] = GatewayProcess.StartAt(port, id, core.BackhaulPort, publicKey, SharedKey, $"--Gateway:Negotiate:PublicUrl=ws://127.0.0.1:{port}/ws");
            }

            foreach (var gateway in gateways.Values)
            {
                await gateway.WaitReadyAsync(ct);
            }

            // Negotiate (no regions file: the relays' own URLs) lists both once their reports are in.
            var negotiateUrl = new Uri(core.HttpUri, "/v1/negotiate");
            using var http = new HttpClient();
            // Healthy, not just listed: while every relay is still "sick: starting" in the core's fleet, negotiate lists the
            // sick ones (it fails open), and the client's own answer a moment later would hold only the first to be ready.
            List<string> ids = [];
            for (int i = 0; i < 200; i++)
            {
                var answer = await http.GetFromJsonAsync<JsonElement>(negotiateUrl, ct);
                var relays = answer.GetProperty("relays").EnumerateArray().ToList();
                ids = [.. relays.Select(r => r.GetProperty("id").GetString()!)];
                if (ids.Count == 2 && relays.All(r => r.GetProperty("state").GetString() == "healthy"))
                {
                    break;
                }

                await Task.Delay(50, ct);
            }

            Assert.That(ids, Has.Count.EqualTo(2), "both relays listed");

            // The killed relay's session was young (a failure): the client backs off, then resumes on the next candidate. No race
            // here (a cold gateway process may take longer than 250 ms to welcome its first session): the first candidate only.
            await using var client = new RelayClient(new RelayClientOptions
            {
                NegotiateUrl = negotiateUrl,
                RaceAfter = TimeSpan.FromSeconds(10),
                TokenProvider = _ => ValueTask.FromResult(core.Tokens.Issue("v-failover", "s1", "visitor", TimeSpan.FromHours(1)).Token),
                ReconnectBaseDelay = TimeSpan.FromMilliseconds(20),
                ReconnectMaxDelay = TimeSpan.FromMilliseconds(50),
            });
            var received = new List<ChatMessage>();
            await client.ConnectAsync(ct);
            Assert.That(client.Steering?.RelayId, Is.EqualTo(ids[0]), "the first candidate");

            var reader = Task.Run(async () =>
            {
                await foreach (var m in client.ReadAllAsync(ct))
                {
                    received.Add(m);
                    if (received.Count == 40)
                    {
                        return;
                    }
                }
            }, ct);
            for (int i = 0; i < 20; i++)
            {
                await client.SendAsync($"m{i}", cancellationToken: ct);
            }

            for (int i = 0; i < 200 && Volatile.Read(ref received) is { Count: < 10 }; i++)
            {
                await Task.Delay(20, ct);
            }

            gateways[ids[0]].Kill();
            for (int i = 20; i < 40; i++)
            {
                await client.SendAsync($"m{i}", cancellationToken: ct);
            }

            await reader;

            Assert.Multiple(() =>
            {
                Assert.That(received.Select(m => m.Body), Is.EqualTo(Enumerable.Range(0, 40).Select(i => $"m{i}")), "every message once, in order");
                Assert.That(received.Select(m => m.Seq), Is.EqualTo(Enumerable.Range(1, 40).Select(i => (long)i)));
                Assert.That(client.Steering?.RelayId, Is.EqualTo(ids[1]), "the next candidate");
            });
        }
        finally
        {
            foreach (var gateway in gateways.Values)
            {
                await gateway.DisposeAsync();
            }
        }
    }
}
