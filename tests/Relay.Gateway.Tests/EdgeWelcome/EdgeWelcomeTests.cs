using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Relay.CoreSim;
using Relay.Testing;

namespace Relay.Gateway.Tests.EdgeWelcome;

/// <summary>
/// Issue 22: the relay welcomes a fresh session itself (the id minted at the edge, carried in the stream's OPEN, adopted
/// by the core). Proved by the protocol, not by timing: core-sim holds every hello (fault <c>hold-hellos</c>), so a
/// welcome that arrives meanwhile can only have come from the edge.
/// </summary>
[NonParallelizable]
public class EdgeWelcomeTests
{
    private readonly List<string> _dirs = [];

    [TearDown]
    public void RemoveTempDirs()
    {
        foreach (string dir in _dirs)
        {
            Directory.Delete(dir, recursive: true);
        }

        _dirs.Clear();
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task FreshSession_WelcomedByTheEdge_WhileTheCoreHoldsTheHello_ThenTheCoreAdoptsTheId(CancellationToken token)
    {
        var (core, gateway) = await StartAsync(token);
        await using var _ = core;
        await using var __ = gateway;
        using var admin = Admin(core);
        await SetHoldAsync(admin, true, token);

        using var ws = await ConnectAsync(gateway, core, "edge-1", token);
        await SendAsync(ws, """{"type":"hello"}""", token);
        var welcome = await ReceiveAsync(ws, token); // the core holds the hello: this welcome is the edge's
        Assert.That(welcome.GetProperty("type").GetString(), Is.EqualTo("welcome"));
        Assert.That(welcome.GetProperty("resumed").GetBoolean(), Is.False);
        Assert.That(welcome.GetProperty("lastSeq").GetInt64(), Is.Zero);
        string session = welcome.GetProperty("session").GetString()!;
        string resumeToken = welcome.GetProperty("resumeToken").GetString()!;
        Assert.That(session, Has.Length.EqualTo(32));
        Assert.That(resumeToken, Is.Not.Empty);

        await SendAsync(ws, """{"type":"msg","seq":1,"body":"m1"}""", token);
        await SetHoldAsync(admin, false, token);
        var echo = await ReceiveNotAckAsync(ws, token); // the core's first word (acks aside): the echo, no second welcome
        Assert.That(echo.GetProperty("type").GetString(), Is.EqualTo("msg"));
        Assert.That(echo.GetProperty("body").GetString(), Is.EqualTo("m1"));
        Assert.That(echo.GetProperty("seq").GetInt64(), Is.EqualTo(1));
        await ws.CloseAsync(WebSocketCloseStatus.NormalClosure, "bye", token);

        // The core adopted the edge's id and resume token: a resume with them gets the core's lastSeq.
        using var again = await ConnectAsync(gateway, core, "edge-1", token);
        await SendAsync(again, ResumeHello(session, resumeToken, 1), token);
        var resumed = await ReceiveAsync(again, token);
        Assert.That(resumed.GetProperty("type").GetString(), Is.EqualTo("welcome"));
        Assert.That(resumed.GetProperty("session").GetString(), Is.EqualTo(session));
        Assert.That(resumed.GetProperty("resumed").GetBoolean(), Is.True);
        Assert.That(resumed.GetProperty("lastSeq").GetInt64(), Is.EqualTo(1));
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task Resume_WaitsForTheCoresWelcome_WithItsLastSeq(CancellationToken token)
    {
        var (core, gateway) = await StartAsync(token);
        await using var _ = core;
        await using var __ = gateway;
        using var admin = Admin(core);

        using var ws = await ConnectAsync(gateway, core, "edge-2", token);
        await SendAsync(ws, """{"type":"hello"}""", token);
        var welcome = await ReceiveAsync(ws, token);
        for (int i = 1; i <= 3; i++)
        {
            await SendAsync(ws, $$"""{"type":"msg","seq":{{i}},"body":"m{{i}}"}""", token);
            Assert.That((await ReceiveNotAckAsync(ws, token)).GetProperty("body").GetString(), Is.EqualTo($"m{i}"));
        }

        ws.Abort();
        await SetHoldAsync(admin, true, token);
        using var again = await ConnectAsync(gateway, core, "edge-2", token);
        await SendAsync(again, ResumeHello(welcome.GetProperty("session").GetString()!, welcome.GetProperty("resumeToken").GetString()!, 3), token);
        var pending = ReceiveAsync(again, token);
        await SetHoldAsync(admin, false, token); // the resume's welcome can only come from the core once it reads the hello
        var resumed = await pending;
        Assert.That(resumed.GetProperty("type").GetString(), Is.EqualTo("welcome"));
        Assert.That(resumed.GetProperty("resumed").GetBoolean(), Is.True, "the first frame of a resume is the core's welcome, not the edge's");
        Assert.That(resumed.GetProperty("lastSeq").GetInt64(), Is.EqualTo(3));
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task CoreRefusesARoomOfTheHello_NoWelcome_TheRefusalArrivesAsAClose(CancellationToken token)
    {
        var (core, gateway) = await StartAsync(token);
        await using var _ = core;
        await using var __ = gateway;

        // A hello with rooms is the core's to welcome: a forbidden room is refused before any welcome.
        using var ws = await ConnectAsync(gateway, core, "edge-3", token);
        await SendAsync(ws, """{"type":"hello","rooms":["somebody-else"]}""", token);
        var error = await ReceiveAsync(ws, token);
        Assert.That(error.GetProperty("type").GetString(), Is.EqualTo("error"));
        Assert.That(error.GetProperty("code").GetString(), Is.EqualTo("room_forbidden"));
        Assert.That(await ReceiveCloseAsync(ws, token), Is.EqualTo(1008));
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task CoreRefusesNewStreams_AfterTheEdgeWelcome_TheRefusalArrivesAsAClose(CancellationToken token)
    {
        var (core, gateway) = await StartAsync(token);
        await using var _ = core;
        await using var __ = gateway;
        using var admin = Admin(core);
        using (var r = await admin.PostAsJsonAsync("/v1/faults/refuse-streams", new { on = true }, token))
        {
            r.EnsureSuccessStatusCode();
        }

        // The core refuses the stream at its OPEN, which goes out at the upgrade: the refusal may come back before the
        // hello reaches the relay (then no welcome) or after its welcome. Either way it reaches the client as a close.
        using var ws = await ConnectAsync(gateway, core, "edge-4", token);
        await SendAsync(ws, """{"type":"hello"}""", token);
        var buffer = new byte[4096];
        var frames = new List<string>();
        for (int i = 0; i < 10; i++)
        {
            var result = await ws.ReceiveAsync(buffer.AsMemory(), token);
            if (result.MessageType == WebSocketMessageType.Close)
            {
                break;
            }

            frames.Add(JsonDocument.Parse(buffer.AsMemory(0, result.Count)).RootElement.GetProperty("type").GetString()!);
        }

        Assert.That(frames, Is.Empty.Or.EqualTo(new[] { "welcome" }), "at most the edge's welcome before the close");
        Assert.That((int?)ws.CloseStatus, Is.EqualTo(1013), "over capacity: the core's refusal reaches the client as a close");
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task HelloWithRooms_TheWelcomeComesOnceTheRoomsAreJoined_SoAMessageSentAfterItReachesTheSession(CancellationToken token)
    {
        // The bug (NodeKillTests' "lost"): the edge welcomed a hello with rooms before the core had joined them, so a room
        // message another member sent right after that welcome could pass the hello and miss the session (a gap).
        var (core, gateway) = await StartAsync(token);
        await using var _ = core;
        await using var __ = gateway;
        using var admin = Admin(core);
        using var member = await ConnectAsync(gateway, core, "op-1", token, "operator");
        await SendAsync(member, """{"type":"hello","rooms":["edge-6"]}""", token);
        Assert.That((await ReceiveAsync(member, token)).GetProperty("type").GetString(), Is.EqualTo("welcome"));

        await SetHoldAsync(admin, true, token);
        using var ws = await ConnectAsync(gateway, core, "edge-6", token);
        await SendAsync(ws, """{"type":"hello","rooms":["edge-6"]}""", token);
        var welcome = ReceiveAsync(ws, token);
        if (await Task.WhenAny(welcome, Task.Delay(TimeSpan.FromSeconds(2), token)) != welcome)
        {
            await SetHoldAsync(admin, false, token); // no welcome while the core holds the hello: it is the core's
        }

        Assert.That((await welcome).GetProperty("type").GetString(), Is.EqualTo("welcome"));

        // Sent after the welcome and dispatched (acknowledged) before the held hello goes on, when it is still held.
        await SendAsync(member, """{"type":"msg","seq":1,"room":"edge-6","body":"after-welcome"}""", token);
        JsonElement ack;
        do
        {
            ack = await ReceiveAsync(member, token);
        }
        while (!(ack.TryGetProperty("ack", out var a) && a.GetInt64() >= 1));
        await SetHoldAsync(admin, false, token);

        var message = ReceiveNotAckAsync(ws, token);
        Assert.That(await Task.WhenAny(message, Task.Delay(TimeSpan.FromSeconds(10), token)), Is.SameAs(message), "the room message sent after the welcome never arrived");
        Assert.That((await message).GetProperty("body").GetString(), Is.EqualTo("after-welcome"));
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task EdgeWelcomeOff_TheCoreWelcomes(CancellationToken token)
    {
        var (core, gateway) = await StartAsync(token, edgeWelcome: false);
        await using var _ = core;
        await using var __ = gateway;
        using var admin = Admin(core);
        await SetHoldAsync(admin, true, token);
        using var ws = await ConnectAsync(gateway, core, "edge-5", token);
        await SendAsync(ws, """{"type":"hello"}""", token);
        await SendAsync(ws, """{"type":"msg","seq":1,"body":"m1"}""", token);
        var pending = ReceiveAsync(ws, token);
        await SetHoldAsync(admin, false, token);
        Assert.That((await pending).GetProperty("type").GetString(), Is.EqualTo("welcome"));
        Assert.That((await ReceiveNotAckAsync(ws, token)).GetProperty("body").GetString(), Is.EqualTo("m1"));
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task FirstMessage_WithAStringThatIsNoText_ReachesTheCore_WhichRefusesIt(CancellationToken token)
    {
        // A lone surrogate escape: valid JSON to the parser, but reading the string throws. The relay's look at the first
        // message threw out of the client pump (a review found it): the hello never reached the core, and the session
        // sat with nothing reading the client until the core's hello timeout.
        var (core, gateway) = await StartAsync(token);
        await using var _ = core;
        await using var __ = gateway;
        using var ws = await ConnectAsync(gateway, core, "edge-6", token);

        await SendAsync(ws, """{"type":"\udc00"}""", token);

        var error = await ReceiveAsync(ws, token);
        Assert.That((error.GetProperty("type").GetString(), error.GetProperty("code").GetString()), Is.EqualTo(("error", "bad_hello")));
        Assert.That(await ReceiveCloseAsync(ws, token), Is.EqualTo(1008));
    }

    private async Task<(CoreSimHost Core, WebApplication Gateway)> StartAsync(CancellationToken token, bool edgeWelcome = true)
    {
        string dir = TempFolders.Create("relay-edge-");
        _dirs.Add(dir);
        string publicKey = Path.Combine(dir, "core-public.pem");
        var core = await EndToEnd.StartCoreSimAsync(publicKey, token);
        var app = GatewayHost.Build([], o =>
        {
            o.HttpPort = 0;
            o.BindAddress = "127.0.0.1";
            o.PublicKeyPath = publicKey;
            o.Backhaul.Endpoints = [$"127.0.0.1:{core.BackhaulPort}"];
            o.Backhaul.SharedKey = GatewayFixture.SharedKey;
            o.Backhaul.RelayId = "gw-edge";
            o.Backhaul.LinksPerEndpoint = 2;
            o.ShutdownTimeout = TimeSpan.FromSeconds(2);
            o.Health.EvaluationInterval = TimeSpan.FromMilliseconds(100);
            o.Health.AgentPort = -1;
            o.EdgeWelcome = edgeWelcome;
        });
        return (core, await EndToEnd.StartUntilReadyAsync(app, token));
    }

    private static HttpClient Admin(CoreSimHost core)
    {
        var http = new HttpClient { BaseAddress = core.HttpUri };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", core.AdminKey);
        return http;
    }

    private static async Task SetHoldAsync(HttpClient admin, bool on, CancellationToken token)
    {
        using var r = await admin.PostAsJsonAsync("/v1/faults/hold-hellos", new { on }, token);
        r.EnsureSuccessStatusCode();
    }

    private static async Task<ClientWebSocket> ConnectAsync(WebApplication gateway, CoreSimHost core, string sub, CancellationToken token, string role = "visitor")
    {
        var ws = new ClientWebSocket();
        string access = core.Tokens.Issue(sub, "s1", role, TimeSpan.FromHours(1)).Token;
        await ws.ConnectAsync(new Uri(EndToEnd.WsUri(gateway) + "?access_token=" + access), token);
        return ws;
    }

    private static string ResumeHello(string session, string resumeToken, long lastSeq) =>
        JsonSerializer.Serialize(new { type = "hello", resume = new { session, resumeToken, lastSeq } });

    private static Task SendAsync(ClientWebSocket ws, string json, CancellationToken token) =>
        ws.SendAsync(Encoding.UTF8.GetBytes(json), WebSocketMessageType.Text, true, token);

    private static async Task<JsonElement> ReceiveAsync(ClientWebSocket ws, CancellationToken token)
    {
        var buffer = new byte[64 * 1024];
        int length = 0;
        WebSocketReceiveResult result;
        do
        {
            result = await ws.ReceiveAsync(buffer.AsMemory(length), token) is var r ? new WebSocketReceiveResult(r.Count, r.MessageType, r.EndOfMessage) : null!;
            length += result.Count;
        }
        while (!result.EndOfMessage);
        Assert.That(result.MessageType, Is.EqualTo(WebSocketMessageType.Text), $"a text frame, not {result.MessageType} ({ws.CloseStatus} {ws.CloseStatusDescription})");
        return JsonDocument.Parse(buffer.AsMemory(0, length)).RootElement.Clone();
    }

    private static async Task<JsonElement> ReceiveNotAckAsync(ClientWebSocket ws, CancellationToken token)
    {
        for (int i = 0; i < 100; i++)
        {
            var frame = await ReceiveAsync(ws, token);
            if (frame.GetProperty("type").GetString() != "ack")
            {
                return frame;
            }
        }

        throw new AssertionException("100 acks in a row");
    }

    private static async Task<int> ReceiveCloseAsync(ClientWebSocket ws, CancellationToken token)
    {
        var buffer = new byte[64 * 1024];
        for (int i = 0; i < 100; i++)
        {
            var result = await ws.ReceiveAsync(buffer.AsMemory(), token);
            if (result.MessageType == WebSocketMessageType.Close)
            {
                return (int)ws.CloseStatus!.Value;
            }
        }

        return -1;
    }
}
