using Relay.Testing;
using Relay.Testing.Cluster;

namespace Relay.Cluster.Tests;

/// <summary>
/// The broker holds a member's unacknowledged messages up to CoreSim:MaxUnacknowledgedBytes, as one node does, whether a
/// node serves the member or not. Before, the dispatch script counted only entries (10,000 of up to 64 KiB: 640 MB of
/// Redis per detached member), and the byte cap was checked only by a serving node as it pulled.
/// </summary>
[TestFixture]
[Parallelizable(ParallelScope.None)]
public sealed class HistoryBytesTests
{
    private const int Cap = 256 * 1024;
    private static string Body => new('x', 50_000);

    [SetUp]
    public void Prerequisites() => ClusterFixture.RequirePrerequisites();

    /// <summary>Two nodes with the cap; op-a on node 1 and op-b on node 2, both in room r1.</summary>
    private static async Task<(ClusterLab Lab, RawSession A, string IdA, RawSession B)> StartAsync(CancellationToken ct, string leaseTime = "00:00:15")
    {
        var lab = await ClusterLab.StartAsync(2, ct, $"--CoreSim:MaxUnacknowledgedBytes={Cap}", $"--CoreSim:Cluster:LeaseTime={leaseTime}", "--CoreSim:Cluster:BrokerTimeout=00:00:00.5");
        string ta = await ClusterFixture.TokenAsync(lab.Nodes[0], "op-a", "operator", ct);
        string tb = await ClusterFixture.TokenAsync(lab.Nodes[0], "op-b", "operator", ct);
        var (a, idA) = await ClusterFixture.JoinAsync(lab.Nodes[0].Ws, ta, "r1", ct);
        var (b, _) = await ClusterFixture.JoinAsync(lab.Nodes[1].Ws, tb, "r1", ct);
        return (lab, a, idA, b);
    }

    /// <summary>Sends messages <paramref name="first"/> to <paramref name="last"/> to room r1, each once its previous is acknowledged.</summary>
    private static async Task SendAsync(RawSession sender, int first, int last, CancellationToken ct)
    {
        for (int n = first; n <= last; n++)
        {
            await sender.SendAsync(new { type = "msg", seq = n, room = "r1", body = Body }, ct);
            while ((await sender.ReceiveTypeAsync("ack", ct)).GetProperty("ack").GetInt64() < n)
            {
            }
        }
    }

    [Test]
    [CancelAfter(120_000)]
    public async Task DetachedMember_PastTheByteCap_EndsWithBufferOverflow_AndTheBrokerHoldsNoMore(CancellationToken ct)
    {
        var (lab, a, idA, b) = await StartAsync(ct, leaseTime: "00:00:02");
        await using var _lab = lab;
        await using var _b = b;
        await a.DisposeAsync(); // A's connection is gone: its session waits (detached) for a resume

        // Detached for sure once no node renews its lease any more (a node still serving A would pull, overflow and end it
        // itself, deleting its keys): the broker alone holds what comes next. Bounded by the test's timeout.
        while ((await lab.Redis.CommandAsync(ct, "EXISTS", "relay:s:" + idA + ":own")).Trim() != ":0")
        {
            await Task.Delay(100, ct);
        }

        await SendAsync(b, 1, 8, ct); // 8 × 50 KB for A: 400 KB, past the 256 KiB cap at the sixth

        string end = await lab.Redis.CommandAsync(ct, "HGET", "relay:s:" + idA, "end");
        string held = await lab.Redis.CommandAsync(ct, "XLEN", "relay:s:" + idA + ":h");
        Assert.Multiple(() =>
        {
            Assert.That(end, Does.Contain("buffer_overflow"));
            Assert.That(int.Parse(held.Trim().TrimStart(':'), System.Globalization.CultureInfo.InvariantCulture) * Body.Length, Is.LessThanOrEqualTo(Cap), "history held for A");
        });
    }

    [Test]
    [CancelAfter(120_000)]
    public async Task AttachedMember_ThatAcknowledges_ReceivesFarMoreThanTheCap_InAll(CancellationToken ct)
    {
        // The cap counts what the broker holds, not what was ever sent: acknowledged messages leave the count.
        var (lab, a, _, b) = await StartAsync(ct);
        await using var _lab = lab;
        await using var _a = a;
        await using var _b = b;

        for (int n = 1; n <= 12; n++) // 600 KB in all
        {
            await SendAsync(b, n, n, ct);
            var got = await a.ReceiveTypeAsync("msg", ct);
            await a.SendAsync(new { type = "ack", ack = got.GetProperty("seq").GetInt64() }, ct);
        }

        Assert.That(a.Socket.State, Is.EqualTo(System.Net.WebSockets.WebSocketState.Open), "A was not ended for overflow");
    }

    [Test]
    [CancelAfter(120_000)]
    public async Task RoomHistory_InTheBroker_KeepsTheNewestWithinTheByteCap(CancellationToken ct)
    {
        var (lab, a, _, b) = await StartAsync(ct);
        await using var _lab = lab;
        await using var _a = a;
        await using var _b = b;

        await SendAsync(b, 1, 8, ct); // 8 × 50 KB into r1's history: 400 KB through a 256 KiB cap

        using var http = new HttpClient { BaseAddress = lab.Nodes[0].Http, Timeout = TimeSpan.FromSeconds(10) };
        http.DefaultRequestHeaders.Authorization = new("Bearer", await ClusterFixture.TokenAsync(lab.Nodes[0], "op-a", "operator", ct));
        var history = await System.Net.Http.Json.HttpClientJsonExtensions.GetFromJsonAsync<System.Text.Json.JsonElement>(http, "/api/rooms/r1/history", ct);
        var ids = history.GetProperty("messages").EnumerateArray().Select(m => m.GetProperty("id").GetInt64()).ToArray();
        Assert.That(ids, Is.EqualTo(new[] { 4L, 5L, 6L, 7L, 8L }), "the newest five (250 KB) of eight");
    }
}
