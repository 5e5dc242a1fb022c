using System.Text;
using System.Text.Json;
using Relay.CoreSim.Configuration;
using Relay.Tunnel.Pool;
using Relay.Tunnel.Protocol;
using Relay.Tunnel.Streams;

namespace Relay.CoreSim.Tests;

[TestFixture]
public sealed class BackhaulAndFaultTests
{
    private static readonly byte[] s_key = Encoding.UTF8.GetBytes(CoreSimOptions.DevelopmentSharedKey);

    private static async Task<LinkPool> PoolAsync(CoreSimHost host, string relayId, CancellationToken ct)
    {
        var pool = new LinkPool(new LinkPoolOptions
        {
            RelayId = relayId,
            Region = "test",
            Endpoints = [$"127.0.0.1:{host.BackhaulPort}"],
            LinksPerEndpoint = 2,
            Link = new Relay.Tunnel.Links.LinkOptions { SharedKey = s_key },
        });
        pool.Start();
        await pool.WaitForLinksAsync(2, ct);
        return pool;
    }

    private static MuxStream Open(LinkPool pool, string sub) =>
        pool.OpenStream(new OpenInfo(sub + Guid.NewGuid().ToString("N"), "127.0.0.1", new Dictionary<string, string> { ["sub"] = sub, ["site"] = "s1", ["role"] = "visitor" }));

    private static ValueTask<bool> SendAsync(MuxStream s, object frame, CancellationToken ct) => s.SendAsync(JsonSerializer.SerializeToUtf8Bytes(frame), true, ct);

    private static async Task<JsonElement?> ReceiveAsync(MuxStream s, CancellationToken ct)
    {
        using var m = await s.ReceiveAsync(ct);
        return m.Type == StreamMessageType.Close ? null : JsonDocument.Parse(m.Data).RootElement.Clone();
    }

    private static async Task<JsonElement> ReceiveTypeAsync(MuxStream s, string type, CancellationToken ct)
    {
        for (int i = 0; i < 1000; i++)
        {
            var m = await ReceiveAsync(s, ct) ?? throw new AssertionException($"stream closed ({s.CloseInfo}) waiting for {type}");
            if (m.GetProperty("type").GetString() == type)
            {
                return m;
            }
        }

        throw new AssertionException($"no {type}");
    }

    [Test]
    [CancelAfter(30_000)]
    public async Task Stream_SpeaksSessionProtocol_AndShowsInFleet(CancellationToken ct)
    {
        await using var host = await CoreSimFixture.StartAsync();
        await using var pool = await PoolAsync(host, "relay-a", ct);
        var stream = Open(pool, "v1");
        await SendAsync(stream, new { type = "hello" }, ct);
        var welcome = await ReceiveTypeAsync(stream, "welcome", ct);
        Assert.That(welcome.GetProperty("resumed").GetBoolean(), Is.False);
        await SendAsync(stream, new { type = "msg", seq = 1, body = "over the backhaul" }, ct);
        var echo = await ReceiveTypeAsync(stream, "msg", ct);
        Assert.That(echo.GetProperty("body").GetString(), Is.EqualTo("over the backhaul"));

        var fleet = await CoreSimFixture.GetAsync(host, "/fleet");
        var relay = fleet.GetProperty("relays").EnumerateArray().Single();
        Assert.Multiple(() =>
        {
            Assert.That(relay.GetProperty("relayId").GetString(), Is.EqualTo("relay-a"));
            Assert.That(relay.GetProperty("links").GetInt32(), Is.EqualTo(2));
            Assert.That(relay.GetProperty("streams").GetInt32(), Is.EqualTo(1));
        });
        stream.Close(1000, "done");
    }

    [Test]
    [CancelAfter(30_000)]
    public async Task RefuseStreams_RefusesNewStreamsUntilCleared(CancellationToken ct)
    {
        await using var host = await CoreSimFixture.StartAsync();
        await using var pool = await PoolAsync(host, "relay-b", ct);
        await CoreSimFixture.PostAsync(host, "/v1/faults/refuse-streams", new { on = true });
        Assert.That((await CoreSimFixture.GetAsync(host, "/v1/faults")).GetProperty("refuseStreams").GetBoolean(), Is.True);
        var refused = Open(pool, "v1");
        await SendAsync(refused, new { type = "hello" }, ct);
        var close = await refused.Completion.WaitAsync(ct);
        Assert.That(close.Code, Is.EqualTo(1013));

        using (var http = CoreSimFixture.Admin(host))
        {
            (await http.DeleteAsync("/v1/faults", ct)).EnsureSuccessStatusCode();
        }

        var accepted = Open(pool, "v1");
        await SendAsync(accepted, new { type = "hello" }, ct);
        Assert.That((await ReceiveTypeAsync(accepted, "welcome", ct)).GetProperty("session").GetString(), Is.Not.Empty);
    }

    [Test]
    [CancelAfter(30_000)]
    public async Task DropRelay_DropsLinks_PoolReconnects_SessionSurvives(CancellationToken ct)
    {
        await using var host = await CoreSimFixture.StartAsync();
        await using var pool = await PoolAsync(host, "relay-c", ct);
        var stream = Open(pool, "v1");
        await SendAsync(stream, new { type = "hello" }, ct);
        await ReceiveTypeAsync(stream, "welcome", ct);
        var dropped = await CoreSimFixture.PostAsync(host, "/v1/faults/drop-relay", new { relayId = "relay-c" });
        Assert.That(dropped.GetProperty("dropped").GetInt32(), Is.EqualTo(2));
        await SendAsync(stream, new { type = "msg", seq = 1, body = "after the drop" }, ct);
        Assert.That((await ReceiveTypeAsync(stream, "msg", ct)).GetProperty("body").GetString(), Is.EqualTo("after the drop"));
    }

    [Test]
    [CancelAfter(30_000)]
    public async Task Stall_HoldsSessionUntilCleared(CancellationToken ct)
    {
        await using var host = await CoreSimFixture.StartAsync();
        await using var client = CoreSimFixture.Client(host, "v1");
        await client.ConnectAsync(ct);
        await CoreSimFixture.PostAsync(host, "/v1/faults/stall", new { session = client.SessionId });
        await CoreSimFixture.PostAsync(host, "/v1/faults/slow", new { ms = 5 });
        await CoreSimFixture.PostAsync(host, "/v1/faults/latency", new { relayId = "r1", ms = 10, jitterMs = 5 });
        var active = await CoreSimFixture.GetAsync(host, "/v1/faults");
        Assert.Multiple(() =>
        {
            Assert.That(active.GetProperty("stalledSessions")[0].GetString(), Is.EqualTo(client.SessionId));
            Assert.That(active.GetProperty("slowMs").GetInt32(), Is.EqualTo(5));
            Assert.That(active.GetProperty("latency")[0].GetProperty("ms").GetInt32(), Is.EqualTo(10));
        });

        await client.SendAsync("held", cancellationToken: ct);
        using (var shortWait = CancellationTokenSource.CreateLinkedTokenSource(ct))
        {
            shortWait.CancelAfter(300);
            Assert.CatchAsync<OperationCanceledException>(() => CoreSimFixture.ReadAsync(client, 1, shortWait.Token));
        }

        using (var http = CoreSimFixture.Admin(host))
        {
            (await http.DeleteAsync("/v1/faults", ct)).EnsureSuccessStatusCode();
        }

        var cleared = await CoreSimFixture.GetAsync(host, "/v1/faults");
        Assert.That(cleared.GetProperty("stalledSessions").GetArrayLength(), Is.Zero);
        Assert.That((await CoreSimFixture.ReadAsync(client, 1, ct)).Single().Body, Is.EqualTo("held"));
    }

    [Test]
    [CancelAfter(30_000)]
    public async Task Kick_ClientResumesWithNothingLost(CancellationToken ct)
    {
        await using var host = await CoreSimFixture.StartAsync();
        await using var client = CoreSimFixture.Client(host, "v1");
        await client.ConnectAsync(ct);
        await client.SendAsync("one", cancellationToken: ct);
        await CoreSimFixture.ReadAsync(client, 1, ct);
        var kicked = await CoreSimFixture.PostAsync(host, "/v1/faults/kick", new { count = 10, code = 4001 });
        Assert.That(kicked.GetProperty("closed").GetInt32(), Is.EqualTo(1));
        await client.SendAsync("two", cancellationToken: ct);
        var got = await CoreSimFixture.ReadAsync(client, 1, ct);
        Assert.That(got.Select(m => (m.Seq, m.Body)), Is.EqualTo(new[] { (2L, "two") }));
    }
}
