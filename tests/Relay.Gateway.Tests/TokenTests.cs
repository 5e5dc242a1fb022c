using Relay.Testing;
using System.Net;
using System.Net.WebSockets;
using Microsoft.AspNetCore.Builder;
using Relay.Client;
using Relay.CoreSim;

namespace Relay.Gateway.Tests;

/// <summary>Issue 16 item 6 through the real chain (Relay.Client → gateway → backhaul → core-sim): expiry and key rotation.</summary>
[NonParallelizable]
public sealed class TokenTests
{
    [Test]
    [CancelAfter(60_000)]
    public async Task SessionPastItsTokenExpiry_ClosedWith4003_ClientRefreshesAndResumes_EveryMessageOnceInOrder(CancellationToken token)
    {
        await using var core = await StartCoreAsync(token);
        await using var gateway = await StartGatewayAsync(core, jwks: false, token);
        int tokensGiven = 0;
        var expired = new TaskCompletionSource<RelayStateChange>(TaskCreationOptions.RunContinuationsAsynchronously);
        var resumed = new TaskCompletionSource<RelayStateChange>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var client = new RelayClient(new RelayClientOptions
        {
            Urls = [EndToEnd.WsUri(gateway)],
            // The first token lives 2 s; every later one an hour.
            TokenProvider = _ => ValueTask.FromResult(core.Tokens.Issue("visitor-exp", "s1", "visitor", Interlocked.Increment(ref tokensGiven) == 1 ? TimeSpan.FromSeconds(2) : TimeSpan.FromHours(1)).Token),
            ReconnectBaseDelay = TimeSpan.FromMilliseconds(50),
        });
        client.StateChanged += change =>
        {
            if (change.CloseCode == 4003)
            {
                expired.TrySetResult(change);
            }
            else if (change.State == RelayClientState.Connected && expired.Task.IsCompleted)
            {
                resumed.TrySetResult(change);
            }
        };
        await client.ConnectAsync(token);
        string? sessionId = client.SessionId;
        await using var echoes = client.ReadAllAsync(token).GetAsyncEnumerator(token);
        var received = new List<string>();
        for (int i = 0; i < 10; i++)
        {
            await client.SendAsync($"m{i}", cancellationToken: token);
        }

        await ReadAsync(echoes, received, 10);
        var closed = await expired.Task.WaitAsync(token); // without the fix the session simply stays open
        for (int i = 10; i < 20; i++)
        {
            await client.SendAsync($"m{i}", cancellationToken: token); // while the client refreshes its token
        }

        var back = await resumed.Task.WaitAsync(token);
        await ReadAsync(echoes, received, 20);
        Assert.Multiple(() =>
        {
            Assert.That(closed.Reason, Does.Contain("token expired"));
            Assert.That(tokensGiven, Is.GreaterThanOrEqualTo(2), "the client asked for a new token");
            Assert.That(back.Resumed, Is.True, "the session was resumed, not started anew");
            Assert.That(client.SessionId, Is.EqualTo(sessionId));
            Assert.That(received, Is.EqualTo(Enumerable.Range(0, 20).Select(i => $"m{i}")), "every echo exactly once, in order");
        });
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task CoreRotatesItsKey_GatewayFetchesTheJwksOnTheUnknownKid_TokensOfBothKeysAreAdmitted(CancellationToken token)
    {
        await using var core = await StartCoreAsync(token);
        await using var gateway = await StartGatewayAsync(core, jwks: true, token);
        string old = core.Tokens.Issue("v-old", "s1", "visitor", TimeSpan.FromHours(1)).Token;
        Assert.That(await UpgradeAsync(gateway, old, token), Is.EqualTo(HttpStatusCode.SwitchingProtocols));

        core.Tokens.Rotate(); // the gateway's periodic refresh is a minute away
        string fresh = core.Tokens.Issue("v-new", "s1", "visitor", TimeSpan.FromHours(1)).Token;
        var status = await UpgradeAsync(gateway, fresh, token);
        for (int i = 0; i < 50 && status == HttpStatusCode.Unauthorized; i++)
        {
            await Task.Delay(100, token); // the first try names an unknown kid and starts the refresh
            status = await UpgradeAsync(gateway, fresh, token);
        }

        Assert.Multiple(async () =>
        {
            Assert.That(status, Is.EqualTo(HttpStatusCode.SwitchingProtocols), "a token of the new key");
            Assert.That(await UpgradeAsync(gateway, old, token), Is.EqualTo(HttpStatusCode.SwitchingProtocols), "the old key is still in the JWKS");
        });
    }

    [Test]
    [CancelAfter(30_000)]
    public async Task JwksUnreachable_ReadinessIs503_WithTheReason(CancellationToken token)
    {
        const string jwks = "http://127.0.0.1:1/.well-known/jwks.json";
        await using var gw = await GatewayFixture.StartAsync(o => o.JwksUrl = jwks, waitUntilReady: false); // it never is
        using var http = new HttpClient();
        // The first fetch starts at once; until it has failed /readyz says the keys are not fetched yet (also a 503).
        HttpStatusCode status = 0;
        string body = string.Empty;
        for (int i = 0; i < 200 && !body.Contains("cannot get", StringComparison.Ordinal); i++)
        {
            if (i > 0)
            {
                await Task.Delay(50, token);
            }

            using var response = await http.GetAsync(gw.HttpUrl + "/readyz", token);
            (status, body) = (response.StatusCode, await response.Content.ReadAsStringAsync(token));
        }

        Assert.Multiple(() =>
        {
            Assert.That(status, Is.EqualTo(HttpStatusCode.ServiceUnavailable));
            Assert.That(body, Does.Contain($"token keys: cannot get the core's JWKS from {jwks}"));
        });
    }

    private static async Task ReadAsync(IAsyncEnumerator<ChatMessage> echoes, List<string> received, int until)
    {
        while (received.Count < until && await echoes.MoveNextAsync())
        {
            received.Add(echoes.Current.Body);
        }
    }

    private static async Task<HttpStatusCode> UpgradeAsync(WebApplication gateway, string accessToken, CancellationToken token)
    {
        using var ws = new ClientWebSocket();
        ws.Options.CollectHttpResponseDetails = true;
        try
        {
            await ws.ConnectAsync(new Uri($"{EndToEnd.WsUri(gateway)}?access_token={accessToken}"), token);
            await ws.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "bye", token);
        }
        catch (WebSocketException)
        {
        }

        return ws.HttpStatusCode;
    }

    private static Task<CoreSimHost> StartCoreAsync(CancellationToken token) =>
        EndToEnd.StartCoreSimAsync(Path.Combine(TempFolders.Create("relay-tokens-"), "core-public.pem"), token);

    private static async Task<WebApplication> StartGatewayAsync(CoreSimHost core, bool jwks, CancellationToken token)
    {
        var app = GatewayHost.Build([], o =>
        {
            o.HttpPort = 0;
            o.BindAddress = "127.0.0.1";
            if (jwks)
            {
                o.JwksUrl = new Uri(core.HttpUri, "/.well-known/jwks.json").ToString();
            }
            else
            {
                o.PublicKeyPath = core.Options.PublicKeyPath!;
            }

            o.Backhaul.Endpoints = [$"127.0.0.1:{core.BackhaulPort}"];
            o.Backhaul.SharedKey = GatewayFixture.SharedKey;
            o.Backhaul.RelayId = "gw-tokens";
            o.Backhaul.LinksPerEndpoint = 1;
            o.ShutdownTimeout = TimeSpan.FromSeconds(5);
            o.Health.EvaluationInterval = TimeSpan.FromMilliseconds(100);
            o.Health.AgentPort = 0;
        });
        return await EndToEnd.StartUntilReadyAsync(app, token);
    }
}
