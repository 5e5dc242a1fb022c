using System.Net;
using System.Net.Http.Json;
using System.Net.WebSockets;
using System.Text.Json;
using Relay.Testing;
using Relay.Testing.Cluster;

namespace Relay.Cluster.Tests;

/// <summary>Issue 20: three real core-sim nodes on a real redis-server, clients on different nodes.</summary>
[TestFixture]
[Parallelizable(ParallelScope.None)]
public sealed class ClusterSessionTests
{
    [SetUp]
    public void Prerequisites() => ClusterFixture.RequirePrerequisites();

    [Test]
    [CancelAfter(120_000)]
    public async Task Room_MembersOnThreeNodes_EachGetsEveryOtherMembersMessagesOnce_InOrderPerSender(CancellationToken ct)
    {
        await using var lab = await ClusterLab.StartAsync(3, ct);
        var sessions = new List<RawSession>();
        string[] subs = ["op-a", "op-b", "op-c"];
        for (int i = 0; i < 3; i++)
        {
            string token = await ClusterFixture.TokenAsync(lab.Nodes[0], subs[i], "operator", ct);
            var s = await RawSession.ConnectAsync(ClusterFixture.WithToken(lab.Nodes[i].Ws, token), ct);
            await s.SendAsync(new { type = "hello", rooms = new[] { "r1" } }, ct);
            await s.ReceiveTypeAsync("welcome", ct);
            sessions.Add(s);
        }

        const int PerSender = 30;
        for (int n = 1; n <= PerSender; n++)
        {
            await sessions[0].SendAsync(new { type = "msg", seq = n, room = "r1", body = n }, ct);
            await sessions[1].SendAsync(new { type = "msg", seq = n, room = "r1", body = n }, ct);
        }

        var got = new Dictionary<int, List<(string From, int Body)>>();
        for (int i = 0; i < 3; i++)
        {
            int expected = i == 2 ? 2 * PerSender : PerSender;
            got[i] = [];
            while (got[i].Count < expected)
            {
                var m = await sessions[i].ReceiveTypeAsync("msg", ct);
                got[i].Add((m.GetProperty("from").GetString()!, m.GetProperty("body").GetInt32()));
            }
        }

        int[] inOrder = [.. Enumerable.Range(1, PerSender)];
        Assert.Multiple(() =>
        {
            Assert.That(got[0].Select(m => m.From).Distinct(), Is.EqualTo(new[] { "op-b" }), "node 1 gets node 2's sender only (not its own)");
            Assert.That(got[0].Select(m => m.Body), Is.EqualTo(inOrder));
            Assert.That(got[1].Select(m => m.From).Distinct(), Is.EqualTo(new[] { "op-a" }));
            Assert.That(got[1].Select(m => m.Body), Is.EqualTo(inOrder));
            Assert.That(got[2].Where(m => m.From == "op-a").Select(m => m.Body), Is.EqualTo(inOrder), "node 3: op-a's messages once, in order");
            Assert.That(got[2].Where(m => m.From == "op-b").Select(m => m.Body), Is.EqualTo(inOrder), "node 3: op-b's messages once, in order");
        });
        foreach (var s in sessions)
        {
            await s.DisposeAsync();
        }
    }

    [Test]
    [CancelAfter(120_000)]
    public async Task Resume_OnAnotherNode_ReplaysWhatWasNotAcknowledged_DedupesResends_AndFencesTheFirstNode(CancellationToken ct)
    {
        await using var lab = await ClusterLab.StartAsync(3, ct);
        string token = await ClusterFixture.TokenAsync(lab.Nodes[0], "v-1", "visitor", ct);
        await using var first = await RawSession.ConnectAsync(ClusterFixture.WithToken(lab.Nodes[0].Ws, token), ct);
        await first.SendAsync(new { type = "hello" }, ct);
        var welcome = await first.ReceiveTypeAsync("welcome", ct);
        string session = welcome.GetProperty("session").GetString()!;
        string resumeToken = welcome.GetProperty("resumeToken").GetString()!;
        for (int n = 1; n <= 3; n++)
        {
            await first.SendAsync(new { type = "msg", seq = n, body = $"m{n}" }, ct);
        }

        for (int n = 1; n <= 3; n++)
        {
            Assert.That((await first.ReceiveTypeAsync("msg", ct)).GetProperty("seq").GetInt64(), Is.EqualTo(n));
        }

        // The client saw 1-3 but acknowledged none; it comes back on node 2 saying it has 1.
        await using var second = await RawSession.ConnectAsync(ClusterFixture.WithToken(lab.Nodes[1].Ws, token), ct);
        await second.SendAsync(new { type = "hello", resume = new { session, resumeToken, lastSeq = 1 } }, ct);
        var resumed = await second.ReceiveTypeAsync("welcome", ct);
        var replay = new List<JsonElement> { await second.ReceiveTypeAsync("msg", ct), await second.ReceiveTypeAsync("msg", ct) };
        await second.SendAsync(new { type = "msg", seq = 3, body = "m3" }, ct); // a resend: a duplicate, dropped
        await second.SendAsync(new { type = "msg", seq = 4, body = "m4" }, ct);
        var next = await second.ReceiveTypeAsync("msg", ct);
        var taken = await first.ReceiveTypeAsync("error", ct);
        var closed = await first.ReceiveAsync(ct);

        Assert.Multiple(() =>
        {
            Assert.That(resumed.GetProperty("resumed").GetBoolean(), Is.True);
            Assert.That(resumed.GetProperty("session").GetString(), Is.EqualTo(session));
            Assert.That(resumed.GetProperty("lastSeq").GetInt64(), Is.EqualTo(3), "node 2 knows the client's seq 1-3 from the broker");
            Assert.That(replay.Select(m => (m.GetProperty("seq").GetInt64(), m.GetProperty("body").GetString())), Is.EqualTo(new[] { (2L, "m2"), (3L, "m3") }));
            Assert.That((next.GetProperty("seq").GetInt64(), next.GetProperty("body").GetString()), Is.EqualTo((4L, "m4")), "the resent seq 3 was not echoed again");
            Assert.That(taken.GetProperty("code").GetString(), Is.EqualTo("session_taken_over"), "node 1 was fenced");
            Assert.That(closed, Is.Null);
            Assert.That(first.Socket.CloseStatus, Is.EqualTo(WebSocketCloseStatus.NormalClosure));
        });
    }

    [Test]
    [CancelAfter(120_000)]
    public async Task Resume_WithAWrongToken_OnAnotherNode_Is4004(CancellationToken ct)
    {
        await using var lab = await ClusterLab.StartAsync(2, ct);
        string token = await ClusterFixture.TokenAsync(lab.Nodes[0], "v-2", "visitor", ct);
        await using var first = await RawSession.ConnectAsync(ClusterFixture.WithToken(lab.Nodes[0].Ws, token), ct);
        await first.SendAsync(new { type = "hello" }, ct);
        string session = (await first.ReceiveTypeAsync("welcome", ct)).GetProperty("session").GetString()!;

        await using var second = await RawSession.ConnectAsync(ClusterFixture.WithToken(lab.Nodes[1].Ws, token), ct);
        await second.SendAsync(new { type = "hello", resume = new { session, resumeToken = "wrong", lastSeq = 0 } }, ct);
        var error = await second.ReceiveTypeAsync("error", ct);
        await second.ReceiveAsync(ct);

        Assert.That(error.GetProperty("code").GetString(), Is.EqualTo("session_unknown"));
        Assert.That((int?)second.Socket.CloseStatus, Is.EqualTo(4004));
    }

    [Test]
    [CancelAfter(120_000)]
    public async Task SlowBroker_IsAReadinessReason_ANewSessionClosesWith1013_AndARestPostIs503_NeverHangs(CancellationToken ct)
    {
        await using var lab = await ClusterLab.StartAsync(1, ct, "--CoreSim:Cluster:BrokerTimeout=00:00:00.5");
        var node = lab.Nodes[0];
        string token = await ClusterFixture.TokenAsync(node, "v-3", "visitor", ct);
        lab.Redis.Pause(true);
        try
        {
            string readyz = await node.Process.WaitForHttpAsync(new Uri(node.Http, "/readyz"), HttpStatusCode.ServiceUnavailable, TimeSpan.FromSeconds(20), ct);
            await using var s = await RawSession.ConnectAsync(ClusterFixture.WithToken(node.Ws, token), ct);
            await s.SendAsync(new { type = "hello" }, ct);
            var error = await s.ReceiveTypeAsync("error", ct);
            await s.ReceiveAsync(ct);
            using var http = new HttpClient { BaseAddress = node.Http, Timeout = TimeSpan.FromSeconds(10) };
            http.DefaultRequestHeaders.Authorization = new("Bearer", token);
            using var post = await http.PostAsJsonAsync("/api/rooms/v-3/messages", new { body = "while paused" }, ct);
            Assert.Multiple(() =>
            {
                Assert.That(readyz, Does.Contain("broker"));
                Assert.That(error.GetProperty("code").GetString(), Is.EqualTo("core_unavailable"));
                Assert.That((int?)s.Socket.CloseStatus, Is.EqualTo(1013));
                Assert.That(post.StatusCode, Is.EqualTo(HttpStatusCode.ServiceUnavailable), "a REST post the broker did not take");
                Assert.That(post.Headers.RetryAfter, Is.Not.Null);
            });
        }
        finally
        {
            lab.Redis.Pause(false);
        }

        await node.Process.WaitForHttpAsync(new Uri(node.Http, "/readyz"), HttpStatusCode.OK, TimeSpan.FromSeconds(20), ct);
    }

    [Test]
    [CancelAfter(120_000)]
    public async Task RestPost_InClusterMode_ReachesEveryMemberOnEveryNode_InOrderWithWebsocketMessages_AndIsInTheRoomsHistoryOnEveryNode(CancellationToken ct)
    {
        await using var lab = await ClusterLab.StartAsync(2, ct);
        string ta = await ClusterFixture.TokenAsync(lab.Nodes[0], "op-a", "operator", ct);
        string tb = await ClusterFixture.TokenAsync(lab.Nodes[0], "op-b", "operator", ct);
        string tc = await ClusterFixture.TokenAsync(lab.Nodes[0], "op-c", "operator", ct);
        var (a, _) = await ClusterFixture.JoinAsync(lab.Nodes[0].Ws, ta, "r1", ct);
        var (b, _) = await ClusterFixture.JoinAsync(lab.Nodes[1].Ws, tb, "r1", ct);
        var (c, _) = await ClusterFixture.JoinAsync(lab.Nodes[0].Ws, tc, "r1", ct);
        await using var _a = a;
        await using var _b = b;
        await using var _c = c;

        // Before, a post was refused with 501 (done in the node, it reached only that node's members under a seq the
        // broker then gave again). Now it goes through the broker: every member on both nodes, numbered with the rest.
        using var http = new HttpClient { BaseAddress = lab.Nodes[0].Http, Timeout = TimeSpan.FromSeconds(10) };
        http.DefaultRequestHeaders.Authorization = new("Bearer", tc);
        using var post = await http.PostAsJsonAsync("/api/rooms/r1/messages", new { body = "rest-1" }, ct);
        var created = await post.Content.ReadFromJsonAsync<JsonElement>(ct);
        await c.SendAsync(new { type = "msg", seq = 1, room = "r1", body = "ws-1" }, ct);

        var seenA = new[] { await a.ReceiveTypeAsync("msg", ct), await a.ReceiveTypeAsync("msg", ct) };
        var seenB = new[] { await b.ReceiveTypeAsync("msg", ct), await b.ReceiveTypeAsync("msg", ct) };
        var restAtC = await c.ReceiveTypeAsync("msg", ct); // the poster's session is a member too: a post is not its message
        using var other = new HttpClient { BaseAddress = lab.Nodes[1].Http, Timeout = TimeSpan.FromSeconds(10) };
        other.DefaultRequestHeaders.Authorization = new("Bearer", tb);
        var history = await other.GetFromJsonAsync<JsonElement>("/api/rooms/r1/history", ct);
        var older = await other.GetFromJsonAsync<JsonElement>("/api/rooms/r1/history?before=2&limit=1", ct);
        var page = history.GetProperty("messages").EnumerateArray().Select(m => (m.GetProperty("id").GetInt64(), m.GetProperty("from").GetString(), m.GetProperty("body").GetString())).ToArray();
        static (long, string?) Of(JsonElement m) => (m.GetProperty("seq").GetInt64(), m.GetProperty("body").GetString());
        Assert.Multiple(() =>
        {
            Assert.That(post.StatusCode, Is.EqualTo(HttpStatusCode.Created));
            Assert.That(created.GetProperty("delivered").GetInt32(), Is.EqualTo(3), "A, B and C");
            Assert.That(seenA.Select(Of), Is.EqualTo(new[] { (1L, "rest-1"), (2L, "ws-1") }), "A (the poster's node)");
            Assert.That(seenB.Select(Of), Is.EqualTo(new[] { (1L, "rest-1"), (2L, "ws-1") }), "B (the other node)");
            Assert.That(Of(restAtC), Is.EqualTo((1L, "rest-1")), "C, whose token posted");
            Assert.That(page, Is.EqualTo(new[] { (1L, "op-c", "rest-1"), (2L, "op-c", "ws-1") }), "the room's history, read on the other node");
            Assert.That(older.GetProperty("messages").EnumerateArray().Select(m => m.GetProperty("id").GetInt64()), Is.EqualTo(new[] { 1L }), "the page before 2");
        });
    }

    [Test]
    [CancelAfter(120_000)]
    public async Task Fleet_ShowsEveryNode_ItsSessions_AndTheBrokersHealth(CancellationToken ct)
    {
        await using var lab = await ClusterLab.StartAsync(3, ct);
        string token = await ClusterFixture.TokenAsync(lab.Nodes[0], "v-4", "visitor", ct);
        await using var s = await RawSession.ConnectAsync(ClusterFixture.WithToken(lab.Nodes[2].Ws, token), ct);
        await s.SendAsync(new { type = "hello" }, ct);
        await s.ReceiveTypeAsync("welcome", ct);

        JsonElement cluster = default;
        for (int i = 0; i < 100; i++)
        {
            cluster = (await ClusterFixture.FleetAsync(lab.Nodes[0], ct)).GetProperty("cluster");
            var nodes = cluster.GetProperty("nodes").EnumerateArray().ToList();
            if (nodes.Count == 3 && nodes.Any(n => n.GetProperty("node").GetString() == "core-3" && n.GetProperty("sessions").GetInt32() == 1))
            {
                break;
            }

            await Task.Delay(100, ct);
        }

        Assert.Multiple(() =>
        {
            Assert.That(cluster.GetProperty("state").GetString(), Is.EqualTo("healthy"));
            Assert.That(cluster.GetProperty("broker").GetString(), Is.EqualTo(lab.Redis.Endpoint));
            Assert.That(cluster.GetProperty("nodes").EnumerateArray().Select(n => n.GetProperty("node").GetString()), Is.EqualTo(new[] { "core-1", "core-2", "core-3" }));
            Assert.That(cluster.GetProperty("nodes").EnumerateArray().Single(n => n.GetProperty("node").GetString() == "core-3").GetProperty("sessions").GetInt32(), Is.EqualTo(1));
        });
    }
}
