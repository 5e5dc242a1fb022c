using System.Net.WebSockets;
using System.Text;
using Relay.Client;
using Relay.CoreSim.Sessions;
using Relay.Testing;

namespace Relay.CoreSim.Tests.Sessions;

/// <summary>What an authenticated client cannot make core-sim hold (issue 16, item 5).</summary>
[TestFixture]
public sealed class SessionLimitsTests
{
    [Test]
    [CancelAfter(20_000)]
    public async Task Overflow_UnacknowledgedUtf8BytesAboveCap_EndsSessionWithError(CancellationToken ct)
    {
        // 3 echoes of 1,000 "é" (2,000 UTF-8 bytes, 1,000 chars each) pass a 4 KiB byte cap; far below the count cap.
        await using var host = await CoreSimFixture.StartAsync(o =>
        {
            o.MaxMessageBytes = 4096;
            o.MaxUnacknowledgedBytes = 4096;
        });
        await using var raw = await RawSession.ConnectAsync(CoreSimFixture.WsUri(host, CoreSimFixture.Token(host, "v9")), ct);
        await raw.SendAsync(new { type = "hello" }, ct);
        await raw.ReceiveTypeAsync("welcome", ct);
        string body = new('é', 1000);
        for (int i = 1; i <= 3; i++)
        {
            // Sent as written (the JSON serializer would escape é as \u00E9).
            string msg = $$"""{"type":"msg","seq":{{i}},"body":"{{body}}"}""";
            await raw.Socket.SendAsync(Encoding.UTF8.GetBytes(msg), WebSocketMessageType.Text, true, ct);
        }

        var error = await raw.ReceiveTypeAsync("error", ct);
        Assert.That(error.GetProperty("code").GetString(), Is.EqualTo("buffer_overflow"));
        Assert.That(await raw.ReceiveAsync(ct), Is.Null);
        Assert.That(raw.Socket.CloseStatus, Is.EqualTo(WebSocketCloseStatus.PolicyViolation));
    }

    [Test]
    [CancelAfter(20_000)]
    public async Task Hello_MoreRoomsThanTheLimit_ErrorAndPolicyClose(CancellationToken ct)
    {
        await using var host = await CoreSimFixture.StartAsync(o => o.MaxRoomsPerSession = 3);
        await using var raw = await RawSession.ConnectAsync(CoreSimFixture.WsUri(host, CoreSimFixture.Token(host, "o1", "operator")), ct);
        await raw.SendAsync(new { type = "hello", rooms = new[] { "a", "b", "c", "d" } }, ct);
        var error = await raw.ReceiveTypeAsync("error", ct);
        Assert.That(error.GetProperty("code").GetString(), Is.EqualTo("too_many_rooms"));
        Assert.That(await raw.ReceiveAsync(ct), Is.Null);
        Assert.That(raw.Socket.CloseStatus, Is.EqualTo(WebSocketCloseStatus.PolicyViolation));
        Assert.That((await CoreSimFixture.GetAsync(host, "/fleet")).GetProperty("rooms").GetInt32(), Is.Zero);
    }

    [Test]
    [CancelAfter(20_000)]
    public async Task Msg_ToARoomBeyondTheLimit_ErrorAndPolicyClose(CancellationToken ct)
    {
        await using var host = await CoreSimFixture.StartAsync(o => o.MaxRoomsPerSession = 2);
        await using var raw = await RawSession.ConnectAsync(CoreSimFixture.WsUri(host, CoreSimFixture.Token(host, "o1", "operator")), ct);
        await raw.SendAsync(new { type = "hello", rooms = new[] { "a", "b" } }, ct);
        await raw.ReceiveTypeAsync("welcome", ct);
        await raw.SendAsync(new { type = "msg", seq = 1, room = "a", body = "fine" }, ct);
        await raw.SendAsync(new { type = "msg", seq = 2, room = "c", body = "x" }, ct);
        var error = await raw.ReceiveTypeAsync("error", ct);
        Assert.That(error.GetProperty("code").GetString(), Is.EqualTo("too_many_rooms"));
        Assert.That(error.GetProperty("seq").GetInt64(), Is.EqualTo(2), "the error names the message it refuses, so an SDK fails that one and does not resend it");
        Assert.That(await raw.ReceiveAsync(ct), Is.Null);
        Assert.That(raw.Socket.CloseStatus, Is.EqualTo(WebSocketCloseStatus.PolicyViolation));
    }

    [TestCase("hello")]
    [TestCase("msg")]
    [CancelAfter(20_000)]
    public async Task Visitor_JoinsAnotherVisitorsSupportRoom_Refused(string how, CancellationToken ct)
    {
        await using var host = await CoreSimFixture.StartAsync();
        await using var raw = await RawSession.ConnectAsync(CoreSimFixture.WsUri(host, CoreSimFixture.Token(host, "v1")), ct);
        if (how == "hello")
        {
            await raw.SendAsync(new { type = "hello", rooms = new[] { "v2" } }, ct);
        }
        else
        {
            await raw.SendAsync(new { type = "hello" }, ct);
            await raw.ReceiveTypeAsync("welcome", ct);
            await raw.SendAsync(new { type = "msg", seq = 1, room = "v2", body = "let me in" }, ct);
        }

        var error = await raw.ReceiveTypeAsync("error", ct);
        Assert.That(error.GetProperty("code").GetString(), Is.EqualTo("room_forbidden"));
        Assert.That(error.TryGetProperty("seq", out var seq) ? seq.GetInt64() : (long?)null, Is.EqualTo(how == "msg" ? 1 : null), "a refused message is named by its seq; the hello's rooms have none");
        Assert.That(await raw.ReceiveAsync(ct), Is.Null);
        Assert.That(raw.Socket.CloseStatus, Is.EqualTo(WebSocketCloseStatus.PolicyViolation));
    }

    [Test]
    [CancelAfter(20_000)]
    public async Task Visitor_InItsOwnSupportRoom_TalksWithAnOperatorOfItsSite(CancellationToken ct)
    {
        await using var host = await CoreSimFixture.StartAsync();
        await using var visitor = CoreSimFixture.Client(host, "v1", "visitor", "v1");
        await using var op = CoreSimFixture.Client(host, "o1", "operator", "v1");
        await visitor.ConnectAsync(ct);
        await op.ConnectAsync(ct);
        await visitor.SendAsync("help", "v1", ct);
        Assert.That((await CoreSimFixture.ReadAsync(op, 1, ct)).Single().Body, Is.EqualTo("help"));
        await op.SendAsync("here", "v1", ct);
        Assert.That((await CoreSimFixture.ReadAsync(visitor, 1, ct)).Single().Body, Is.EqualTo("here"));
    }

    [Test]
    [CancelAfter(20_000)]
    public async Task Rooms_SiteAndRoomWithSeparator_DoNotCollideAcrossSites(CancellationToken ct)
    {
        // Site "s1\u001fsecret" room "r" and site "s1" room "secret\u001fr" are different rooms.
        await using var host = await CoreSimFixture.StartAsync();
        await using var a = Client(host, "oa", "s1", "secret\u001fr");
        await using var b = Client(host, "ob", "s1\u001fsecret", "r");
        await a.ConnectAsync(ct);
        await b.ConnectAsync(ct);
        await b.SendAsync("for site s1|secret only", "r", ct);
        await a.SendAsync("echo"); // no room: back to a
        var first = (await CoreSimFixture.ReadAsync(a, 1, ct)).Single();
        Assert.That((first.Room, first.Body), Is.EqualTo(((string?)null, "echo")), "a got only its own echo, not b's room message");
    }

    [Test]
    public void RoomDirectory_LastMemberLeaves_RoomRemoved()
    {
        var rooms = new RoomDirectory();
        var claims = new Relay.Contracts.Tokens.TokenClaims("o1", "s1", "operator", DateTimeOffset.MaxValue);
        var one = new Session("a", "rt", claims, 10, 1024);
        var two = new Session("b", "rt", claims, 10, 1024);
        var key = RoomDirectory.Key("s1", "r");
        rooms.Join(key, one);
        rooms.Join(key, two);
        rooms.Leave(key, one);
        Assert.That(rooms.Count, Is.EqualTo(1));
        rooms.Leave(key, two);
        Assert.That(rooms.Count, Is.Zero);
        rooms.Join(key, one);
        Assert.That(rooms.Members(key), Is.EqualTo(new[] { one }), "a room comes back when joined again");
    }

    private static RelayClient Client(CoreSimHost host, string sub, string site, string room) => new(new RelayClientOptions
    {
        Urls = [host.WebSocketUri],
        TokenProvider = _ => ValueTask.FromResult(CoreSimFixture.Token(host, sub, "operator", site)),
        Rooms = [room],
    });
}
