using Relay.Testing;

namespace Relay.CoreSim.Tests.Sessions;

/// <summary>
/// How many dropped sessions the core keeps for a resume (stop 42's security review: a session outlives its connection by
/// CoreSim:SessionRetention, and nothing bounded how many one token, or all, could leave behind). At most
/// CoreSim:MaxDetachedSessionsPerUser per site and sub, and CoreSim:MaxDetachedSessions in all: past either, the one
/// detached longest ends (its resume gets session_unknown, 4004: the client starts afresh and resends its outbox).
/// </summary>
public sealed class DetachedSessionCapTests
{
    [Test]
    [CancelAfter(60_000)]
    public async Task OneVisitorToken_HelloAndDropInALoop_KeepsOnlyTheCapOfItsDroppedSessions(CancellationToken ct)
    {
        await using var host = await CoreSimFixture.StartAsync();
        int cap = host.Options.MaxDetachedSessionsPerUser;
        string token = CoreSimFixture.Token(host, "v-loop");
        var uri = CoreSimFixture.WsUri(host, token);
        int loops = cap * 6;
        for (int i = 0; i < loops; i++)
        {
            await using var raw = await RawSession.ConnectAsync(uri, ct);
            await raw.SendAsync(new { type = "hello", rooms = new[] { "v-loop" } }, ct);
            await raw.ReceiveTypeAsync("welcome", ct);
            raw.Socket.Abort(); // dropped: the session waits for a resume
        }

        int held = await SessionsHeldAsync(host, cap, ct);
        Assert.That(held, Is.EqualTo(cap), $"{loops} dropped sessions of one token: the core keeps the newest {cap} for a resume, not all");
    }

    [Test]
    [CancelAfter(90_000)]
    public async Task OneVisitorToken_ManyDroppedSessionsInItsRoom_TinyMessagesToTheRoomStayBounded(CancellationToken ct)
    {
        // The dropped sessions are members of the visitor's room: every message to it is queued once per dropped session.
        // Before the cap, 1,000 dropped sessions and 2,000 one-byte messages grew the heap by 122 MiB.
        const int Sessions = 1_000;
        await using var host = await CoreSimFixture.StartAsync();
        string token = CoreSimFixture.Token(host, "v-fan");
        var uri = CoreSimFixture.WsUri(host, token);
        for (int i = 0; i < Sessions; i++)
        {
            await using var raw = await RawSession.ConnectAsync(uri, ct);
            await raw.SendAsync(new { type = "hello", rooms = new[] { "v-fan" } }, ct);
            await raw.ReceiveTypeAsync("welcome", ct);
            raw.Socket.Abort();
        }

        await SessionsHeldAsync(host, host.Options.MaxDetachedSessionsPerUser, ct);
        await using var sender = await RawSession.ConnectAsync(uri, ct);
        await sender.SendAsync(new { type = "hello", rooms = new[] { "v-fan" } }, ct);
        await sender.ReceiveTypeAsync("welcome", ct);
        long before = GC.GetTotalMemory(forceFullCollection: true);
        const int Messages = 2_000;
        for (int seq = 1; seq <= Messages; seq++)
        {
            await sender.SendAsync(new { type = "msg", seq, room = "v-fan", body = "x" }, ct);
        }

        for (int i = 0; i < 10_000; i++)
        {
            var m = await sender.ReceiveAsync(ct) ?? throw new InvalidOperationException("closed");
            if (m.TryGetProperty("ack", out var ack) && ack.GetInt64() >= Messages)
            {
                break;
            }
        }

        long grown = GC.GetTotalMemory(forceFullCollection: true) - before;
        TestContext.Out.WriteLine($"{Messages} one-byte messages to the room of {Sessions} dropped sessions: managed heap +{grown / 1024} KiB");
        Assert.That(grown, Is.LessThan(16L * 1024 * 1024), "tiny messages to a room of one token's dropped sessions are kept once per kept session only");
    }

    [Test]
    [CancelAfter(30_000)]
    public async Task PastTheCapPerUser_TheOldestDroppedSessionEnds_TheNewestAndOtherUsersResume(CancellationToken ct)
    {
        await using var host = await CoreSimFixture.StartAsync(o => o.MaxDetachedSessionsPerUser = 3);
        var other = await CoreSimFixture.DropWithOneUnacknowledgedAsync(host, "v-other", ct);
        var mine = new List<DroppedSession>();
        for (int i = 0; i < 5; i++)
        {
            mine.Add(await CoreSimFixture.DropWithOneUnacknowledgedAsync(host, "v-many", ct));
        }

        await SessionsHeldAsync(host, 3 + 1, ct);
        await AssertUnknownAsync(host, mine[0], ct);
        await AssertUnknownAsync(host, mine[1], ct);
        await AssertResumesAsync(host, mine[4], ct);
        await AssertResumesAsync(host, mine[2], ct);
        await AssertResumesAsync(host, other, ct);
    }

    [Test]
    [CancelAfter(30_000)]
    public async Task PastTheCapInAll_TheOldestDroppedSessionOfAnyUserEnds(CancellationToken ct)
    {
        await using var host = await CoreSimFixture.StartAsync(o => o.MaxDetachedSessions = 4);
        var dropped = new List<DroppedSession>();
        for (int i = 0; i < 6; i++)
        {
            dropped.Add(await CoreSimFixture.DropWithOneUnacknowledgedAsync(host, $"v-all-{i}", ct));
        }

        await SessionsHeldAsync(host, 4, ct);
        await AssertUnknownAsync(host, dropped[0], ct);
        await AssertUnknownAsync(host, dropped[1], ct);
        await AssertResumesAsync(host, dropped[2], ct);
        await AssertResumesAsync(host, dropped[5], ct);
    }

    [Test]
    [CancelAfter(30_000)]
    public async Task AResumedSession_NoLongerCountsAgainstTheCap(CancellationToken ct)
    {
        await using var host = await CoreSimFixture.StartAsync(o => o.MaxDetachedSessionsPerUser = 2);
        var first = await CoreSimFixture.DropWithOneUnacknowledgedAsync(host, "v-back", ct);
        await using (var back = await CoreSimFixture.ResumeAsync(host, first, ct))
        {
            await back.ReceiveTypeAsync("welcome", ct);

            // Two more dropped while the first is attached again: the cap of 2 is not passed, the first is not ended.
            await CoreSimFixture.DropWithOneUnacknowledgedAsync(host, "v-back", ct);
            await CoreSimFixture.DropWithOneUnacknowledgedAsync(host, "v-back", ct);
            await SessionsHeldAsync(host, 3, ct);
            await back.SendAsync(new { type = "msg", seq = 2, body = "still here" }, ct);
            var echo = await back.ReceiveTypeAsync("msg", ct);
            Assert.That(echo.GetProperty("body").GetString(), Is.AnyOf("while away", "still here"), "the resumed session is alive");
        }
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task ClusterMode_PastTheCapPerUser_TheOldestDroppedSession_EndsInTheBrokerToo(CancellationToken ct)
    {
        // In cluster mode a node's copy is only a copy: the session lives in the broker, resumable on any node. The cap
        // must end it there (a review found only the copy dropped: its resume was welcomed, resumed:true).
        if (Relay.Testing.Cluster.RedisProcess.Missing is { } missing)
        {
            Assert.Ignore(missing);
        }

        using var redis = await Relay.Testing.Cluster.RedisProcess.StartAsync(ct);
        await using var host = await CoreSimFixture.StartAsync(o =>
        {
            o.Cluster.Redis = redis.Endpoint;
            o.MaxDetachedSessionsPerUser = 1;
        });
        using (var http = new HttpClient { BaseAddress = host.HttpUri })
        {
            for (int i = 0; i < 100 && (await http.GetAsync("/readyz", ct)).StatusCode != System.Net.HttpStatusCode.OK; i++)
            {
                await Task.Delay(100, ct);
            }
        }

        var first = await CoreSimFixture.DropWithOneUnacknowledgedAsync(host, "v-cluster-cap", ct);
        var second = await CoreSimFixture.DropWithOneUnacknowledgedAsync(host, "v-cluster-cap", ct);
        Assert.That(await SessionsHeldAsync(host, 1, ct), Is.EqualTo(1), "this node keeps one dropped session of the user");
        await AssertUnknownAsync(host, first, ct);
        await AssertResumesAsync(host, second, ct);
    }

    /// <summary>Waits (bounded) until the core holds <paramref name="expected"/> sessions, and returns what it holds.</summary>
    private static async Task<int> SessionsHeldAsync(CoreSimHost host, int expected, CancellationToken ct)
    {
        int held = -1;
        for (int i = 0; i < 100 && (held = (await CoreSimFixture.GetAsync(host, "/fleet")).GetProperty("sessions").GetInt32()) != expected; i++)
        {
            await Task.Delay(50, ct);
        }

        return held;
    }

    private static async Task AssertUnknownAsync(CoreSimHost host, DroppedSession d, CancellationToken ct)
    {
        await using var late = await CoreSimFixture.ResumeAsync(host, d, ct);
        var error = await late.ReceiveAsync(ct);
        Assert.Multiple(() =>
        {
            Assert.That(error?.GetProperty("code").GetString(), Is.EqualTo("session_unknown"), "a dropped session past the cap has ended");
            Assert.That((int?)late.Socket.CloseStatus ?? -1, Is.AnyOf(-1, 4004));
        });
    }

    private static async Task AssertResumesAsync(CoreSimHost host, DroppedSession d, CancellationToken ct)
    {
        await using var back = await CoreSimFixture.ResumeAsync(host, d, ct);
        var welcome = await back.ReceiveTypeAsync("welcome", ct);
        var replayed = await back.ReceiveTypeAsync("msg", ct);
        Assert.Multiple(() =>
        {
            Assert.That(welcome.GetProperty("resumed").GetBoolean(), Is.True);
            Assert.That(replayed.GetProperty("body").GetString(), Is.EqualTo("while away"), "its unacknowledged echo is replayed");
        });
    }
}
