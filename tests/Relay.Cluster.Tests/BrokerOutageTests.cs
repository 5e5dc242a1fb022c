using System.Text.Json;
using System.Net;
using System.Net.WebSockets;
using Relay.Testing;
using Relay.Testing.Cluster;

namespace Relay.Cluster.Tests;

/// <summary>Issue 20: what the broker's outages do to the nodes and their sessions: a pause longer than the ownership
/// lease, a broker down when a node starts, a broker restart without persistence, a node that cannot reach it.</summary>
[TestFixture]
[Parallelizable(ParallelScope.None)]
public sealed class BrokerOutageTests
{
    private static TimeSpan Never => TimeSpan.FromSeconds(30);

    [SetUp]
    public void Prerequisites() => ClusterFixture.RequirePrerequisites();

    /// <summary>op-a on node 1 and op-b on node 2, both in room r1.</summary>
    private static async Task<(RawSession A, string IdA, RawSession B, string IdB)> MembersOnTwoNodesAsync(ClusterLab lab, CancellationToken ct)
    {
        string ta = await ClusterFixture.TokenAsync(lab.Nodes[0], "op-a", "operator", ct);
        string tb = await ClusterFixture.TokenAsync(lab.Nodes[0], "op-b", "operator", ct);
        var (a, idA) = await ClusterFixture.JoinAsync(lab.Nodes[0].Ws, ta, "r1", ct);
        var (b, idB) = await ClusterFixture.JoinAsync(lab.Nodes[1].Ws, tb, "r1", ct);
        return (a, idA, b, idB);
    }

    /// <summary>Ends the lab's broker by its pid (the lab disposes it again at the end, which a dead process survives).</summary>
    private static void StopBroker(ClusterLab lab)
    {
        using var broker = System.Diagnostics.Process.GetProcessById(lab.Redis.Pid);
        broker.Kill();
        broker.WaitForExit();
    }

    [Test]
    [CancelAfter(120_000)]
    public async Task BrokerPause_LongerThanTheLease_AttachedSessionsKeepChatting_NeitherFencedNorDeaf(CancellationToken ct)
    {
        // The lease (2 s) runs out while the broker is stopped (4 s): nobody owns the two sessions when it is back.
        await using var lab = await ClusterLab.StartAsync(2, ct, "--CoreSim:Cluster:LeaseTime=00:00:02", "--CoreSim:Cluster:BrokerTimeout=00:00:00.5");
        var (a, idA, b, idB) = await MembersOnTwoNodesAsync(lab, ct);
        await using var _a = a;
        await using var _b = b;

        lab.Redis.Pause(true);
        try
        {
            foreach (var n in lab.Nodes)
            {
                await n.Process.WaitForHttpAsync(new Uri(n.Http, "/readyz"), HttpStatusCode.ServiceUnavailable, TimeSpan.FromSeconds(20), ct);
            }

            await Task.Delay(TimeSpan.FromSeconds(4), ct); // the outage (setup, not a measurement): twice the lease
        }
        finally
        {
            lab.Redis.Pause(false);
        }

        foreach (var n in lab.Nodes)
        {
            await n.Process.WaitForHttpAsync(new Uri(n.Http, "/readyz"), HttpStatusCode.OK, TimeSpan.FromSeconds(20), ct);
        }

        await b.SendAsync(new { type = "msg", seq = 1, room = "r1", body = "after-pause" }, ct);
        var first = await ClusterFixture.ExpectAsync(b, "ack", Never, "the sender", ct);
        while (first.GetProperty("ack").GetInt64() < 1)
        {
            first = await ClusterFixture.ExpectAsync(b, "ack", Never, "the sender", ct); // the welcome's ack 0 first
        }

        var got = await ClusterFixture.ExpectAsync(a, "msg", Never, "the idle member on the other node", ct);
        string ownA = await lab.Redis.CommandAsync(ct, "GET", "relay:s:" + idA + ":own");
        string ownB = await lab.Redis.CommandAsync(ct, "GET", "relay:s:" + idB + ":own");
        Assert.Multiple(() =>
        {
            Assert.That(got.GetProperty("body").GetString(), Is.EqualTo("after-pause"));
            Assert.That(got.GetProperty("from").GetString(), Is.EqualTo("op-b"));
            Assert.That(a.Socket.State, Is.EqualTo(WebSocketState.Open), "node 1 still serves A");
            Assert.That(b.Socket.State, Is.EqualTo(WebSocketState.Open), "B was not refused (session_taken_over, 1000: the SDK would stop for good)");
            Assert.That(ownA, Does.Contain("core-1"), "node 1 holds A's lease again");
            Assert.That(ownB, Does.Contain("core-2"), "node 2 holds B's lease again");
        });
    }

    [Test]
    [CancelAfter(120_000)]
    public async Task Node_StartsWhileTheBrokerIsDown_IsNotReady_AndServesOnceItAnswers(CancellationToken ct)
    {
        await using var lab = await ClusterLab.StartAsync(2, ct);
        int port = lab.Redis.Port;
        StopBroker(lab);
        var node = lab.Restart(lab.Nodes[0]);
        string readyz = await node.Process.WaitForHttpAsync(new Uri(node.Http, "/readyz"), HttpStatusCode.ServiceUnavailable, TimeSpan.FromSeconds(60), ct);
        Assert.That(node.Process.HasExited, Is.False, "the node runs without its broker");

        using var again = await RedisProcess.StartAsync(ct, port);
        foreach (var n in lab.Nodes)
        {
            await n.Process.WaitForHttpAsync(new Uri(n.Http, "/readyz"), HttpStatusCode.OK, TimeSpan.FromSeconds(30), ct);
        }

        // Node 1 subscribed to its channel once the broker answered: a member on node 2 reaches its session.
        string ta = await ClusterFixture.TokenAsync(lab.Nodes[1], "op-a", "operator", ct);
        string tb = await ClusterFixture.TokenAsync(lab.Nodes[1], "op-b", "operator", ct);
        var (a, _) = await ClusterFixture.JoinAsync(node.Ws, ta, "r1", ct);
        var (b, _) = await ClusterFixture.JoinAsync(lab.Nodes[1].Ws, tb, "r1", ct);
        await using var _a = a;
        await using var _b = b;
        await b.SendAsync(new { type = "msg", seq = 1, room = "r1", body = "hi" }, ct);
        var got = await ClusterFixture.ExpectAsync(a, "msg", Never, "the member on the node that started without its broker", ct);
        Assert.Multiple(() =>
        {
            Assert.That(readyz, Does.Contain("broker"));
            Assert.That(got.GetProperty("body").GetString(), Is.EqualTo("hi"));
        });
    }

    [Test]
    [CancelAfter(120_000)]
    public async Task BrokerRestart_WithoutPersistence_IdleMembersAreToldToStartAFreshSession(CancellationToken ct)
    {
        await using var lab = await ClusterLab.StartAsync(2, ct, "--CoreSim:Cluster:BrokerTimeout=00:00:00.5");
        var (a, _, b, _) = await MembersOnTwoNodesAsync(lab, ct);
        await using var _a = a;
        await using var _b = b;

        int port = lab.Redis.Port;
        StopBroker(lab); // no persistence: the broker comes back empty
        using var again = await RedisProcess.StartAsync(ct, port);

        // Neither sends anything: each is told its session is gone (4004: start afresh, resend the outbox).
        var errorA = await ClusterFixture.ExpectAsync(a, "error", Never, "idle member A", ct);
        var errorB = await ClusterFixture.ExpectAsync(b, "error", Never, "idle member B", ct);
        await a.ReceiveAsync(ct);
        await b.ReceiveAsync(ct);
        Assert.Multiple(() =>
        {
            Assert.That(errorA.GetProperty("code").GetString(), Is.EqualTo("session_unknown"));
            Assert.That((int?)a.Socket.CloseStatus, Is.EqualTo(4004));
            Assert.That(errorB.GetProperty("code").GetString(), Is.EqualTo("session_unknown"));
            Assert.That((int?)b.Socket.CloseStatus, Is.EqualTo(4004));
        });
    }

    /// <summary>Restarts a node with a broker address nothing answers on, and waits until it says it is not ready.</summary>
    private static async Task<ClusterNode> CutOffFromTheBrokerAsync(ClusterLab lab, int index, CancellationToken ct)
    {
        var node = lab.Restart(lab.Nodes[index], $"--CoreSim:Cluster:Redis=127.0.0.1:{Ports.Free()}", "--CoreSim:Cluster:BrokerTimeout=00:00:00.5");
        await node.Process.WaitForHttpAsync(new Uri(node.Http, "/readyz"), HttpStatusCode.ServiceUnavailable, TimeSpan.FromSeconds(60), ct);
        return node;
    }

    [Test]
    [CancelAfter(120_000)]
    public async Task EdgeWelcomedSession_RefusedByAnUnreachableBroker_Is1013_AndLeavesNothingBehindOnTheNode(CancellationToken ct)
    {
        await using var lab = await ClusterLab.StartAsync(1, ct);
        var node = await CutOffFromTheBrokerAsync(lab, 0, ct);
        await lab.StartGatewayAsync(ct);
        string token = await ClusterFixture.TokenAsync(node, "v-1", "visitor", ct);

        // Through the relay: its edge welcome, then the node adopts the session and the broker does not answer.
        await using var s = await RawSession.ConnectAsync(ClusterFixture.WithToken(lab.GatewayWs, token), ct);
        await s.SendAsync(new { type = "hello" }, ct);
        await ClusterFixture.ExpectAsync(s, "welcome", Never, "the relay's edge welcome", ct);
        var error = await ClusterFixture.ExpectAsync(s, "error", Never, "the refusal", ct);
        await s.ReceiveAsync(ct);
        var fleet = await ClusterFixture.FleetAsync(node, ct);
        Assert.Multiple(() =>
        {
            Assert.That(error.GetProperty("code").GetString(), Is.EqualTo("core_unavailable"));
            Assert.That((int?)s.Socket.CloseStatus, Is.EqualTo(1013));
            Assert.That(fleet.GetProperty("sessions").GetInt32(), Is.Zero, "the session the broker refused is not kept");
        });
    }

    [Test]
    [CancelAfter(180_000)]
    public async Task NodeCutOffFromTheBroker_GetsNoNewSessionsFromTheRelay_TheOtherNodeServesEveryUser(CancellationToken ct)
    {
        // Node 2's broker address answers nothing: it is up, linked to the relay, and not ready. Before NEW_STREAMS the
        // relay still gave it every session that ranks it first (1013, and the resume ranked it first again).
        await using var lab = await ClusterLab.StartAsync(2, ct);
        await CutOffFromTheBrokerAsync(lab, 1, ct);
        await lab.StartGatewayAsync(ct);
        await lab.Gateway!.WaitForOutputAsync("takes no new sessions", TimeSpan.FromSeconds(30), ct);

        // Eight users (their session keys rank the two nodes both ways): each gets its message acknowledged.
        for (int i = 0; i < 8; i++)
        {
            string token = await ClusterFixture.TokenAsync(lab.Nodes[0], $"user-{i}", "operator", ct);
            var (s, _) = await ClusterFixture.JoinAsync(lab.GatewayWs, token, "r1", ct);
            await using var session = s;
            await s.SendAsync(new { type = "msg", seq = 1, room = "r1", body = "hello" }, ct);
            JsonElement ack;
            do
            {
                ack = await ClusterFixture.ExpectAsync(s, "ack", Never, $"user-{i}'s message", ct);
            }
            while (ack.GetProperty("ack").GetInt64() < 1); // the welcome's ack 0 first
        }

        var fleet = await ClusterFixture.FleetAsync(lab.Nodes[0], ct);
        Assert.That(fleet.GetProperty("sessions").GetInt32(), Is.EqualTo(8), "node 1 serves every user");
    }
}
