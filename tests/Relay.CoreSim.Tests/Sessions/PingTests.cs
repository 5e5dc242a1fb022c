using System.Net.WebSockets;
using System.Text.Json;
using Relay.Testing;

namespace Relay.CoreSim.Tests.Sessions;

/// <summary>The session protocol's liveness probe (PROTOCOL.md: <c>ping</c> / <c>pong</c>, issue 17).</summary>
[TestFixture]
public sealed class PingTests
{
    [Test]
    [CancelAfter(20_000)]
    public async Task Ping_AnsweredAtOnceWithItsId_OutsideSeqAcksAndReplay(CancellationToken ct)
    {
        await using var host = await CoreSimFixture.StartAsync();
        var uri = CoreSimFixture.WsUri(host, CoreSimFixture.Token(host, "p1"));
        string session, resumeToken;
        await using (var raw = await RawSession.ConnectAsync(uri, ct))
        {
            await raw.SendAsync(new { type = "hello" }, ct);
            var welcome = await raw.ReceiveTypeAsync("welcome", ct);
            session = welcome.GetProperty("session").GetString()!;
            resumeToken = welcome.GetProperty("resumeToken").GetString()!;
            await raw.SendAsync(new { type = "msg", seq = 1, body = "m1" }, ct);
            Assert.That((await raw.ReceiveTypeAsync("msg", ct)).GetProperty("seq").GetInt64(), Is.EqualTo(1));

            await raw.SendAsync(new { type = "ping", id = 41 }, ct);
            var pong = await raw.ReceiveAsync(ct) ?? throw new AssertionException("closed instead of a pong");
            Assert.Multiple(() =>
            {
                Assert.That(pong.GetProperty("type").GetString(), Is.EqualTo("pong"));
                Assert.That(pong.GetProperty("id").GetInt64(), Is.EqualTo(41));
                Assert.That(pong.TryGetProperty("seq", out _), Is.False, "a pong has no seq");
                Assert.That(pong.TryGetProperty("ack", out _), Is.False, "a pong has no ack");
            });

            // A ping without an id gets a pong without one.
            await raw.SendAsync(new { type = "ping" }, ct);
            var bare = await raw.ReceiveAsync(ct) ?? throw new AssertionException("closed instead of a pong");
            Assert.That((bare.GetProperty("type").GetString(), bare.TryGetProperty("id", out _)), Is.EqualTo(("pong", false)));

            // The next message is seq 2 both ways: the pings took no seq.
            await raw.SendAsync(new { type = "msg", seq = 2, body = "m2" }, ct);
            var echo = await raw.ReceiveTypeAsync("msg", ct);
            Assert.That((echo.GetProperty("seq").GetInt64(), echo.GetProperty("ack").GetInt64()), Is.EqualTo((2L, 2L)));
        }

        // Resumed with nothing acknowledged: the replay is the two messages, no pong.
        await using var again = await RawSession.ConnectAsync(uri, ct);
        await again.SendAsync(new { type = "hello", resume = new { session, resumeToken, lastSeq = 0 } }, ct);
        var resumed = await again.ReceiveTypeAsync("welcome", ct);
        Assert.That(resumed.GetProperty("lastSeq").GetInt64(), Is.EqualTo(2));
        await again.SendAsync(new { type = "ping", id = 42 }, ct);
        var frames = new List<string>();
        for (int i = 0; i < 3; i++)
        {
            var f = await again.ReceiveAsync(ct) ?? throw new AssertionException("closed during the replay");
            frames.Add(f.GetProperty("type").GetString() + (f.TryGetProperty("seq", out var s) ? s.GetInt64().ToString(System.Globalization.CultureInfo.InvariantCulture) : string.Empty));
        }

        // The pong is answered at once by the read loop, the replay written by the session's writer: either may come first
        // (CI once saw the pong first). The replay is the two messages in order, and the pong is not one of them.
        Assert.That(frames.Where(f => f != "pong"), Is.EqualTo(new[] { "msg1", "msg2" }), string.Join(", ", frames));
        Assert.That(frames.Count(f => f == "pong"), Is.EqualTo(1), string.Join(", ", frames));
    }

    [Test]
    [CancelAfter(20_000)]
    public async Task Ping_IdNotAnInteger_ErrorThen1008(CancellationToken ct)
    {
        await using var host = await CoreSimFixture.StartAsync();
        await using var raw = await RawSession.ConnectAsync(CoreSimFixture.WsUri(host, CoreSimFixture.Token(host, "p2")), ct);
        await raw.SendAsync(new { type = "hello" }, ct);
        await raw.ReceiveTypeAsync("welcome", ct);
        await raw.SendAsync(new { type = "ping", id = "x" }, ct);
        var error = await raw.ReceiveTypeAsync("error", ct);
        Assert.That(error.GetProperty("code").GetString(), Is.EqualTo("bad_message"));
        Assert.That(await raw.ReceiveAsync(ct), Is.Null);
        Assert.That(raw.Socket.CloseStatus, Is.EqualTo(WebSocketCloseStatus.PolicyViolation));
    }
}
