using System.Collections.Concurrent;
using Microsoft.Extensions.Time.Testing;
using Relay.Client.Tests.Negotiate;
using Relay.Contracts.Control;
using Relay.Contracts.Regions;

namespace Relay.Client.Tests;

/// <summary>
/// When the client reconnects, against a scripted core on the client's own (fake) clock: a welcome does not make the next
/// reconnect immediate or reset the backoff (only a session that lived <see cref="RelayClientOptions.StableSession"/>
/// does); only a stable session's drain (4001) or going-away (1001) reconnects at once; by default the client never gives
/// up, and when a configured limit is reached it closes, fails what is pending and refuses further sends.
/// Each runs with fixed URLs and with negotiate (two candidates), where moving to the next candidate skips no delay.
/// </summary>
[TestFixture]
public sealed class ReconnectBackoffTests
{
    private static readonly TimeSpan s_base = new RelayClientOptions().ReconnectBaseDelay;

    [TestCase(false)]
    [TestCase(true)]
    [CancelAfter(60_000)]
    public async Task WelcomedThenClosed1013_EveryTime_EachReconnectWaitsABackoffThatGrows(bool negotiate, CancellationToken ct)
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var core = await ScriptedCore.StartAsync(async c =>
        {
            await c.WelcomeAsync();
            await c.SendAsync("""{"type":"error","code":"core_unavailable","message":"core state unavailable"}""");
            await c.CloseAsync(1013, "core state unavailable");
        }, time, ct);
        using var candidates = Candidates(core);
        await using var client = new RelayClient(Options(core, negotiate ? candidates : null, time));
        await client.ConnectAsync(ct);

        await ClockPump.UntilAsync(time, () => core.Count >= 7, TimeSpan.FromMilliseconds(20), ct);

        // The wait after the n-th failure in a row is Backoff(n): at least half of base·2^(n-1) (capped), on the client's clock.
        var at = core.Connections.Select(c => c.HelloAt).ToList();
        Assert.Multiple(() =>
        {
            for (int n = 1; n <= 6; n++)
            {
                var least = TimeSpan.FromMilliseconds(Math.Min(5000, s_base.TotalMilliseconds * Math.Pow(2, n - 1)) / 2);
                Assert.That(at[n] - at[n - 1], Is.GreaterThanOrEqualTo(least), $"the wait before connection {n + 1}, after {n} welcomed connections closed 1013");
            }
        });
    }

    [TestCase(false)]
    [TestCase(true)]
    [CancelAfter(60_000)]
    public async Task Drain4001_OfAStableSession_ReconnectsAtOnce_OfAYoungSession_BacksOff(bool negotiate, CancellationToken ct)
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var core = await ScriptedCore.StartAsync(async c =>
        {
            await c.WelcomeAsync();
            if (c.Index == 1)
            {
                await c.Go.Task;
            }

            if (c.Index <= 2)
            {
                await c.CloseAsync(4001, "relay draining");
            }
        }, time, ct);
        using var candidates = Candidates(core);
        var options = Options(core, negotiate ? candidates : null, time);
        await using var client = new RelayClient(options);
        await client.ConnectAsync(ct);
        var first = core.Connections[0];

        time.Advance(options.StableSession);
        first.Go.SetResult();
        var second = await core.WaitForConnectionAsync(2, ct);
        Assert.Multiple(() =>
        {
            Assert.That(second.IsResume, Is.True);
            Assert.That(second.HelloAt - first.HelloAt, Is.EqualTo(options.StableSession), "the stable session's drain: reconnected with no time passing on the client's clock");
        });

        // The second session is drained as soon as it is welcomed: a young session, so the next attempt waits.
        await ClockPump.UntilAsync(time, () => core.Count >= 3, TimeSpan.FromMilliseconds(10), ct);
        var third = core.Connections[2];
        Assert.Multiple(() =>
        {
            Assert.That(third.IsResume, Is.True);
            Assert.That(third.HelloAt - second.HelloAt, Is.GreaterThanOrEqualTo(s_base / 2), "a young session's drain backs off");
        });
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task DefaultOptions_NeverGiveUp_ConnectOnceTheCoreWelcomes(CancellationToken ct)
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        const int refusals = 35; // more than the old default limit of 30
        await using var core = await ScriptedCore.StartAsync(async c =>
        {
            if (c.Index <= refusals)
            {
                await c.CloseAsync(1013, "overloaded");
                return;
            }

            await c.WelcomeAsync();
        }, time, ct);
        await using var client = new RelayClient(Options(core, null, time));

        var connect = client.ConnectAsync(ct);
        await ClockPump.UntilAsync(time, () => connect.IsCompleted, TimeSpan.FromMilliseconds(500), ct);
        await connect;

        Assert.Multiple(() =>
        {
            Assert.That(client.State, Is.EqualTo(RelayClientState.Connected));
            Assert.That(core.Count, Is.EqualTo(refusals + 1));
        });
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task MaxReconnectAttemptsReached_ClosesFailsWhatIsPendingAndRefusesSends(CancellationToken ct)
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var core = await ScriptedCore.StartAsync(async c =>
        {
            if (c.Index > 1)
            {
                await c.CloseAsync(1013, "overloaded");
                return;
            }

            await c.WelcomeAsync();
            await c.Go.Task;
            await c.CloseAsync(1011, "internal error");
        }, time, ct);
        var options = Options(core, null, time);
        options.MaxReconnectAttempts = 3;
        options.MaxUnacknowledged = 1;
        await using var client = new RelayClient(options);
        var errors = new ConcurrentQueue<RelayClientError>();
        client.Error += errors.Enqueue;
        await client.ConnectAsync(ct);

        long seq = await client.SendAsync("never acknowledged", cancellationToken: ct);
        var waiting = client.SendAsync("waits for room in the outbox", cancellationToken: ct).AsTask();
        Assert.That(waiting.IsCompleted, Is.False, "the outbox is full (MaxUnacknowledged 1)");

        core.Connections[0].Go.SetResult();
        await ClockPump.UntilAsync(time, () => client.State == RelayClientState.Closed, TimeSpan.FromMilliseconds(100), ct);

        var closed = errors.Where(e => e.Code == "closed").ToList();
        Assert.Multiple(() =>
        {
            Assert.That(core.Count, Is.EqualTo(3), "the welcomed connection, then two refused: three failures in a row");
            Assert.That(closed.Select(e => (e.Seq, e.BodyJson)), Is.EqualTo(new[] { ((long?)seq, (string?)"\"never acknowledged\"") }), "the pending message failed");
            Assert.That(client.UnacknowledgedCount, Is.Zero);
        });
        var ex = Assert.ThrowsAsync<InvalidOperationException>(() => waiting.WaitAsync(TimeSpan.FromSeconds(10), ct), "the send that waited for room");
        Assert.That(ex!.Message, Does.Contain("gave up after 3"));
        Assert.ThrowsAsync<InvalidOperationException>(async () => await client.SendAsync("after the end", cancellationToken: ct), "a later send");
    }

    private static RelayClientOptions Options(ScriptedCore core, StaticJsonServer? negotiate, FakeTimeProvider time) => new()
    {
        Urls = negotiate is null ? [core.Url] : [],
        NegotiateUrl = negotiate?.Url,
        TokenProvider = _ => ValueTask.FromResult("t"),
        TimeProvider = time,
        Heartbeat = TimeSpan.Zero,
        ConnectTimeout = TimeSpan.FromHours(1), // on the fake clock: never the reason an attempt ends
        RaceAfter = TimeSpan.FromHours(1),
    };

    /// <summary>Negotiate's answer: two candidates, both the scripted core.</summary>
    private static StaticJsonServer Candidates(ScriptedCore core) => StaticJsonServer.Start(new NegotiateResponse("sg", "test", [
        new NegotiateRelay("a", "sg", core.Url.ToString(), 100, RelayStatus.Healthy, 0),
        new NegotiateRelay("b", "sg", core.Url + "?b=1", 90, RelayStatus.Healthy, 0)]).ToJson());
}
