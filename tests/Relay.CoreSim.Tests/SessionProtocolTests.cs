using System.Net.WebSockets;
using System.Text.Json;
using Relay.Testing;

namespace Relay.CoreSim.Tests;

[TestFixture]
[Parallelizable(ParallelScope.None)]
public sealed class SessionProtocolTests
{
    private CoreSimHost _host = null!;

    [OneTimeSetUp]
    public async Task StartAsync() => _host = await CoreSimFixture.StartAsync();

    [OneTimeTearDown]
    public async Task StopAsync() => await _host.DisposeAsync();

    private Uri Ws(string sub = "v1") => CoreSimFixture.WsUri(_host, CoreSimFixture.Token(_host, sub));

    [Test]
    [CancelAfter(20_000)]
    public async Task Resume_WithUnackedBothWays_ReplaysAndDedupes(CancellationToken ct)
    {
        string session, resumeToken;
        await using (var first = await RawSession.ConnectAsync(Ws(), ct))
        {
            await first.SendAsync(new { type = "hello" }, ct);
            var welcome = await first.ReceiveTypeAsync("welcome", ct);
            session = welcome.GetProperty("session").GetString()!;
            resumeToken = welcome.GetProperty("resumeToken").GetString()!;
            for (int i = 1; i <= 3; i++)
            {
                await first.SendAsync(new { type = "msg", seq = i, body = $"m{i}" }, ct);
            }

            // Wait until the core has them all (its ack says so), then break without reading the echoes.
            for (int i = 0; i < 100; i++)
            {
                var m = await first.ReceiveAsync(ct);
                if (m?.GetProperty("ack").GetInt64() == 3)
                {
                    break;
                }
            }
        }

        await using var second = await RawSession.ConnectAsync(Ws(), ct);
        await second.SendAsync(new { type = "hello", resume = new { session, resumeToken, lastSeq = 0 } }, ct);
        var resumed = await second.ReceiveTypeAsync("welcome", ct);
        Assert.Multiple(() =>
        {
            Assert.That(resumed.GetProperty("resumed").GetBoolean(), Is.True);
            Assert.That(resumed.GetProperty("lastSeq").GetInt64(), Is.EqualTo(3));
        });

        var replay = new List<(long, string)>();
        for (int i = 0; i < 3; i++)
        {
            var m = await second.ReceiveTypeAsync("msg", ct);
            replay.Add((m.GetProperty("seq").GetInt64(), m.GetProperty("body").GetString()!));
        }

        Assert.That(replay, Is.EqualTo(new[] { (1L, "m1"), (2L, "m2"), (3L, "m3") }));

        // A resent duplicate is dropped; the next new one is echoed as seq 4.
        await second.SendAsync(new { type = "msg", seq = 3, ack = 3, body = "m3" }, ct);
        await second.SendAsync(new { type = "msg", seq = 4, ack = 3, body = "m4" }, ct);
        var next = await second.ReceiveTypeAsync("msg", ct);
        Assert.That((next.GetProperty("seq").GetInt64(), next.GetProperty("body").GetString()), Is.EqualTo((4L, "m4")));
    }

    [Test]
    [CancelAfter(20_000)]
    public async Task Resume_MidReplay_EveryMessageOnceInOrder(CancellationToken ct)
    {
        await using var first = await RawSession.ConnectAsync(Ws(), ct);
        await first.SendAsync(new { type = "hello" }, ct);
        var welcome = await first.ReceiveTypeAsync("welcome", ct);
        var session = welcome.GetProperty("session").GetString()!;
        var resumeToken = welcome.GetProperty("resumeToken").GetString()!;
        for (int i = 1; i <= 30; i++)
        {
            await first.SendAsync(new { type = "msg", seq = i, body = i }, ct);
        }

        var seen = new List<long>();
        while (seen.Count < 10)
        {
            seen.Add((await first.ReceiveTypeAsync("msg", ct)).GetProperty("seq").GetInt64());
        }

        first.Socket.Abort();

        // Second connection: resume from 10, read part of the replay, break again.
        await using var second = await RawSession.ConnectAsync(Ws(), ct);
        await second.SendAsync(new { type = "hello", resume = new { session, resumeToken, lastSeq = seen[^1] } }, ct);
        var w2 = await second.ReceiveTypeAsync("welcome", ct);
        // What the first socket had not delivered when it was cut is lost with it (CI once saw lastSeq 22): the client
        // resends from the welcome's lastSeq + 1, as the SDKs do.
        long received = w2.GetProperty("lastSeq").GetInt64();
        Assert.That(received, Is.InRange(10, 30));
        for (long i = received + 1; i <= 30; i++)
        {
            await second.SendAsync(new { type = "msg", seq = i, body = i }, ct);
        }
        while (seen.Count < 20)
        {
            seen.Add((await second.ReceiveTypeAsync("msg", ct)).GetProperty("seq").GetInt64());
        }

        second.Socket.Abort();

        await using var third = await RawSession.ConnectAsync(Ws(), ct);
        await third.SendAsync(new { type = "hello", resume = new { session, resumeToken, lastSeq = seen[^1] } }, ct);
        var w3 = await third.ReceiveTypeAsync("welcome", ct);
        for (long i = w3.GetProperty("lastSeq").GetInt64() + 1; i <= 30; i++)
        {
            await third.SendAsync(new { type = "msg", seq = i, body = i }, ct);
        }
        while (seen.Count < 30)
        {
            seen.Add((await third.ReceiveTypeAsync("msg", ct)).GetProperty("seq").GetInt64());
        }

        Assert.That(seen, Is.EqualTo(Enumerable.Range(1, 30).Select(i => (long)i)));
    }

    [Test]
    [CancelAfter(20_000)]
    public async Task Resume_BeforeWelcome_StartsFreshSession(CancellationToken ct)
    {
        await using (var first = await RawSession.ConnectAsync(Ws(), ct))
        {
            await first.SendAsync(new { type = "hello" }, ct);
            first.Socket.Abort();
        }

        await using var client = CoreSimFixture.Client(_host, "v1");
        await client.ConnectAsync(ct);
        await client.SendAsync("after");
        var got = await CoreSimFixture.ReadAsync(client, 1, ct);
        Assert.That(got.Select(m => (m.Seq, m.Body)), Is.EqualTo(new[] { (1L, "after") }));
    }

    [Test]
    [CancelAfter(30_000)]
    public async Task Client_RepeatedDrops_EveryEchoOnceInOrder(CancellationToken ct)
    {
        await using var client = CoreSimFixture.Client(_host, "v2");
        await client.ConnectAsync(ct);
        var reading = CoreSimFixture.ReadAsync(client, 300, ct);
        for (int i = 1; i <= 300; i++)
        {
            await client.SendAsync($"b{i}", cancellationToken: ct);
            if (i % 37 == 0)
            {
                client.DropConnection();
            }
        }

        var got = await reading;
        Assert.That(got.Select(m => m.Body), Is.EqualTo(Enumerable.Range(1, 300).Select(i => $"b{i}")));
        Assert.That(got.Select(m => m.Seq), Is.EqualTo(Enumerable.Range(1, 300).Select(i => (long)i)));
    }

    [Test]
    [CancelAfter(20_000)]
    public async Task Resume_UnknownSession_ErrorThen4004(CancellationToken ct)
    {
        await using var raw = await RawSession.ConnectAsync(Ws(), ct);
        await raw.SendAsync(new { type = "hello", resume = new { session = "nope", resumeToken = "x", lastSeq = 0 } }, ct);
        var error = await raw.ReceiveAsync(ct);
        Assert.That(error?.GetProperty("type").GetString(), Is.EqualTo("error"));
        Assert.That(error?.GetProperty("code").GetString(), Is.EqualTo("session_unknown"));
        Assert.That(await raw.ReceiveAsync(ct), Is.Null);
        Assert.That((int?)raw.Socket.CloseStatus, Is.EqualTo(4004));
    }

    [Test]
    [CancelAfter(20_000)]
    public async Task Resume_WhileAttached_TakesOverAndOldClosesWith1000(CancellationToken ct)
    {
        await using var first = await RawSession.ConnectAsync(Ws(), ct);
        await first.SendAsync(new { type = "hello" }, ct);
        var welcome = await first.ReceiveTypeAsync("welcome", ct);
        await using var second = await RawSession.ConnectAsync(Ws(), ct);
        await second.SendAsync(new { type = "hello", resume = new { session = welcome.GetProperty("session").GetString(), resumeToken = welcome.GetProperty("resumeToken").GetString(), lastSeq = 0 } }, ct);
        Assert.That((await second.ReceiveTypeAsync("welcome", ct)).GetProperty("resumed").GetBoolean(), Is.True);
        var error = await first.ReceiveTypeAsync("error", ct);
        Assert.That(error.GetProperty("code").GetString(), Is.EqualTo("session_taken_over"));
        Assert.That(await first.ReceiveAsync(ct), Is.Null);
        Assert.That(first.Socket.CloseStatus, Is.EqualTo(WebSocketCloseStatus.NormalClosure));
    }

    [Test]
    [CancelAfter(20_000)]
    public async Task Overflow_EndsSessionWithError(CancellationToken ct)
    {
        await using var host = await CoreSimFixture.StartAsync(o => o.MaxUnacknowledged = 5);
        await using var raw = await RawSession.ConnectAsync(CoreSimFixture.WsUri(host, CoreSimFixture.Token(host, "v9")), ct);
        await raw.SendAsync(new { type = "hello" }, ct);
        await raw.ReceiveTypeAsync("welcome", ct);
        for (int i = 1; i <= 6; i++)
        {
            await raw.SendAsync(new { type = "msg", seq = i, body = i }, ct);
        }

        var error = await raw.ReceiveTypeAsync("error", ct);
        Assert.That(error.GetProperty("code").GetString(), Is.EqualTo("buffer_overflow"));
        Assert.That(await raw.ReceiveAsync(ct), Is.Null);
        Assert.That(raw.Socket.CloseStatus, Is.EqualTo(WebSocketCloseStatus.PolicyViolation));
    }
}
