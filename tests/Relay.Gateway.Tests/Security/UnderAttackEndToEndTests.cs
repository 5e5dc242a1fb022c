using Relay.Testing;
using System.Net;
using System.Net.Http.Headers;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using Relay.Client;
using Relay.Contracts.Control;
using Relay.CoreSim;

namespace Relay.Gateway.Tests.Security;

/// <summary>Issue 16, Under Attack mode through the real chain: Relay.Client / raw websockets → gateway (in-process) → core-sim.</summary>
[NonParallelizable]
public class UnderAttackEndToEndTests
{
    private const string AdminKey = "admin-under-attack-key";

    [Test]
    [CancelAfter(90_000)]
    public async Task ModeOnByAdminApi_RawConnectWithoutSolutionIsRefused_RelayClientSolvesAndConnects_ExistingSessionKeepsEchoing(CancellationToken token)
    {
        string dir = TempFolders.Create("relay-ua-");
        string publicKey = Path.Combine(dir, "core-public.pem");
        await using var core = await EndToEnd.StartCoreSimAsync(publicKey, token);
        await using var gateway = await StartGatewayAsync(core.BackhaulPort, publicKey, token);
        string http = GatewayHost.Urls(gateway).First(u => u.StartsWith("http://", StringComparison.Ordinal));
        var ws = new Uri("ws" + http[4..] + "/ws");
        string Token(string sub) => core.Tokens.Issue(sub, "s1", "visitor", TimeSpan.FromHours(1)).Token;

        // A session from before the mode.
        using var existing = new ClientWebSocket();
        await existing.ConnectAsync(new Uri($"{ws}?access_token={Token("existing")}"), token);
        await SendAsync(existing, """{"type":"hello"}""", token);
        Assert.That(await ReceiveTypeAsync(existing, token), Is.EqualTo("welcome"));

        using var admin = new HttpClient();
        admin.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", AdminKey);
        using (var anonymous = new HttpClient())
        {
            Assert.That((await anonymous.PostAsync($"{http}/admin/under-attack?on=true", null, token)).StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized), "the admin key is required");
        }

        var on = await admin.PostAsync($"{http}/admin/under-attack?on=true", null, token);
        Assert.That(on.StatusCode, Is.EqualTo(HttpStatusCode.OK));

        // A raw connect without a solution: refused before the upgrade, saying a challenge is required.
        using (var raw = new ClientWebSocket())
        {
            raw.Options.CollectHttpResponseDetails = true;
            Assert.ThrowsAsync<WebSocketException>(() => raw.ConnectAsync(new Uri($"{ws}?access_token={Token("raw")}"), token));
            Assert.That((int)raw.HttpStatusCode, Is.EqualTo(429));
        }

        using (var raw = new HttpClient())
        {
            using var challenge = JsonDocument.Parse(await raw.GetStringAsync($"{http}/challenge", token));
            Assert.That(challenge.RootElement.GetProperty("underAttack").GetBoolean(), Is.True);
            Assert.That(challenge.RootElement.GetProperty("difficulty").GetInt32(), Is.EqualTo(10));
            Assert.That(challenge.RootElement.GetProperty("challenge").GetString(), Is.Not.Empty);
            Assert.That(challenge.RootElement.GetProperty("expiresAt").GetDateTimeOffset(), Is.GreaterThan(DateTimeOffset.UtcNow));
        }

        // The SDK solves it transparently.
        await using var client = new RelayClient(new RelayClientOptions
        {
            Urls = [ws],
            TokenProvider = _ => ValueTask.FromResult(Token("sdk-new")),
            ReconnectBaseDelay = TimeSpan.FromMilliseconds(20),
        });
        await client.ConnectAsync(token);
        await client.SendAsync("hello under attack", cancellationToken: token);
        await foreach (var m in client.ReadAllAsync(token))
        {
            Assert.That(m.Body, Is.EqualTo("hello under attack"));
            break;
        }

        // The session from before the mode keeps echoing.
        await SendAsync(existing, """{"type":"msg","seq":1,"ack":0,"body":"still here"}""", token);
        string? type;
        do
        {
            type = await ReceiveTypeAsync(existing, token);
        }
        while (type == "ack");
        Assert.That(type, Is.EqualTo("msg"));
        Assert.That(existing.State, Is.EqualTo(WebSocketState.Open));

        // /status and /metrics show the mode, its trigger and the refusals.
        using (var status = JsonDocument.Parse(await admin.GetStringAsync($"{http}/status", token)))
        {
            var ua = status.RootElement.GetProperty("health").GetProperty("underAttack");
            Assert.That(ua.GetProperty("on").GetBoolean(), Is.True);
            Assert.That(ua.GetProperty("source").GetString(), Is.EqualTo("operator"));
            Assert.That(ua.GetProperty("refused").GetProperty("challenge-required").GetInt64(), Is.GreaterThanOrEqualTo(1));
        }

        var metrics = PrometheusScrape.Parse(await admin.GetStringAsync($"{http}/metrics", token));
        Assert.That(metrics["relay_gateway_under_attack"], Is.EqualTo(1));
        Assert.That(metrics["relay_gateway_admission_refused_total{reason=\"challenge-required\"}"], Is.GreaterThanOrEqualTo(1));

        // Off again: a raw connect works.
        Assert.That((await admin.PostAsync($"{http}/admin/under-attack?on=false", null, token)).StatusCode, Is.EqualTo(HttpStatusCode.OK));
        using (var raw = new ClientWebSocket())
        {
            await raw.ConnectAsync(new Uri($"{ws}?access_token={Token("raw-after")}"), token);
            Assert.That(raw.State, Is.EqualTo(WebSocketState.Open));
        }

        Directory.Delete(dir, recursive: true);
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task TheCoresOrder_TurnsTheModeOn_AndTheFleetViewShowsIt(CancellationToken token)
    {
        string dir = TempFolders.Create("relay-ua-");
        string publicKey = Path.Combine(dir, "core-public.pem");
        await using var core = await EndToEnd.StartCoreSimAsync(publicKey, token);
        await using var gateway = await StartGatewayAsync(core.BackhaulPort, publicKey, token);
        using var coreHttp = new HttpClient { BaseAddress = core.HttpUri };

        Assert.That((await coreHttp.PostAsync("/v1/relays/gw-ua/under-attack/on", null, token)).StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized), "core-sim's admin key is required");
        coreHttp.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", core.AdminKey);
        Assert.That((await coreHttp.PostAsync("/v1/relays/gw-ua/under-attack/on", null, token)).StatusCode, Is.EqualTo(HttpStatusCode.Accepted));

        bool seen = false;
        for (int i = 0; i < 100 && !seen; i++)
        {
            using var fleet = JsonDocument.Parse(await coreHttp.GetStringAsync("/fleet", token));
            var relay = fleet.RootElement.GetProperty("relays").EnumerateArray().FirstOrDefault(r => r.GetProperty("relayId").GetString() == "gw-ua");
            seen = relay.ValueKind == JsonValueKind.Object
                && relay.TryGetProperty("report", out var report) && report.ValueKind == JsonValueKind.Object
                && report.TryGetProperty("underAttack", out var ua) && ua.ValueKind == JsonValueKind.Object
                && ua.GetProperty("on").GetBoolean() && ua.GetProperty("source").GetString() == "core";
            if (!seen)
            {
                await Task.Delay(100, token);
            }
        }

        Assert.That(seen, Is.True, "the relay's report in the core's fleet view says under attack, ordered by the core");
        Assert.That(ControlCodec.TryDecode(ControlCodec.UnderAttackCommand, ControlCodec.Encode(new UnderAttackOrder(true)).Payload, out var order), Is.True);
        Assert.That(order, Is.EqualTo(new UnderAttackOrder(true)));
        Directory.Delete(dir, recursive: true);
    }

    private static async Task<Microsoft.AspNetCore.Builder.WebApplication> StartGatewayAsync(int backhaulPort, string publicKey, CancellationToken token)
    {
        var app = GatewayHost.Build([$"--Gateway:UnderAttack:Difficulty=10"], o =>
        {
            o.HttpPort = 0;
            o.BindAddress = "127.0.0.1";
            o.PublicKeyPath = publicKey;
            o.AdminKey = AdminKey;
            o.Backhaul.Endpoints = [$"127.0.0.1:{backhaulPort}"];
            o.Backhaul.SharedKey = GatewayFixture.SharedKey;
            o.Backhaul.RelayId = "gw-ua";
            o.Backhaul.LinksPerEndpoint = 1;
            o.Health.EvaluationInterval = TimeSpan.FromMilliseconds(100);
            o.Health.ReportInterval = TimeSpan.FromMilliseconds(200);
            o.Health.AgentPort = -1;
        });
        return await EndToEnd.StartUntilReadyAsync(app, token);
    }

    private static Task SendAsync(ClientWebSocket ws, string json, CancellationToken token) =>
        ws.SendAsync(Encoding.UTF8.GetBytes(json), WebSocketMessageType.Text, true, token);

    private static async Task<string?> ReceiveTypeAsync(ClientWebSocket ws, CancellationToken token)
    {
        var (_, data) = await GatewayFixture.ReceiveAsync(ws, token);
        using var doc = JsonDocument.Parse(data);
        return doc.RootElement.GetProperty("type").GetString();
    }
}
