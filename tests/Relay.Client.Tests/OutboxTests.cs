using System.Collections.Concurrent;
using System.Text.Json;
using Microsoft.Extensions.Time.Testing;
using Relay.Client.Tests.Negotiate;
using Relay.Contracts.Control;
using Relay.Contracts.Regions;
using Relay.CoreSim;

namespace Relay.Client.Tests;

/// <summary>
/// What happens to the messages the application sends when the core refuses one (an <c>error</c> naming its seq), when
/// one is too big (1009), and how the outbox is numbered across welcomes: a refused message fails (the app hears its code)
/// and is never sent again, the messages behind it go through, and seqs stay contiguous from the welcome's <c>lastSeq</c>.
/// </summary>
[TestFixture]
public sealed class OutboxTests
{
    [TestCase(false)]
    [TestCase(true)]
    [CancelAfter(60_000)]
    public async Task RefusedByTheCore_TheMessageFailsWithItsCode_AndTheMessagesBehindItGetThrough(bool negotiate, CancellationToken ct)
    {
        await using var core = await CoreSimHost.StartAsync(o =>
        {
            o.BindAddress = "127.0.0.1";
            o.HttpPort = 0;
            o.BackhaulPort = 0;
        }, ct);
        using var candidates = StaticJsonServer.Start(new NegotiateResponse("sg", "test", [
            new NegotiateRelay("core", "sg", core.WebSocketUri.ToString(), 100, RelayStatus.Healthy, 0)]).ToJson());
        var options = new RelayClientOptions
        {
            TokenProvider = _ => ValueTask.FromResult(core.Tokens.Issue("visitor-1", "s1", "visitor", TimeSpan.FromHours(1)).Token),
        };
        if (negotiate)
        {
            options.NegotiateUrl = candidates.Url;
        }
        else
        {
            options.Urls = [core.WebSocketUri];
        }

        await using var client = new RelayClient(options);
        int welcomes = 0;
        client.StateChanged += c =>
        {
            if (c.State == RelayClientState.Connected)
            {
                Interlocked.Increment(ref welcomes);
            }
        };
        var errors = new ConcurrentQueue<RelayClientError>();
        client.Error += errors.Enqueue;
        await client.ConnectAsync(ct);

        // A visitor may join only its own room: the core refuses this one, names it by seq and ends the session (1008).
        long refused = await client.SendAsync("to a room this visitor may not join", room: "visitor-2", cancellationToken: ct);
        await client.SendAsync("plain echo after it", cancellationToken: ct);

        using var bound = CancellationTokenSource.CreateLinkedTokenSource(ct);
        bound.CancelAfter(TimeSpan.FromSeconds(20));
        ChatMessage? echo = null;
        try
        {
            await foreach (var m in client.ReadAllAsync(bound.Token))
            {
                echo = m;
                break;
            }
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
        }

        Assert.That(echo?.Body, Is.EqualTo("plain echo after it"), "the message behind the refused one got through");
        for (int i = 0; i < 200 && client.UnacknowledgedCount > 0; i++)
        {
            await Task.Delay(20, ct);
        }

        var forbidden = errors.Where(e => e.Code == "room_forbidden").ToList();
        Assert.Multiple(() =>
        {
            Assert.That(forbidden.Select(e => (e.Seq, e.Room, e.BodyJson)), Is.EqualTo(new[] { ((long?)refused, (string?)"visitor-2", (string?)"\"to a room this visitor may not join\"") }), "refused once, named, never sent again");
            Assert.That(welcomes, Is.EqualTo(2), "the refused session, then one new session (its resume got 4004)");
            Assert.That(client.UnacknowledgedCount, Is.Zero);
        });
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task RefusedMessage_ResumedSession_TheRestIsRenumberedFromLastSeq_AndNumberingGoesOnAfterIt(CancellationToken ct)
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var seen = new ConcurrentDictionary<int, List<JsonElement>>();
        await using var core = await ScriptedCore.StartAsync(async c =>
        {
            await c.WelcomeAsync();
            if (c.Index == 1)
            {
                seen[1] = await c.ReadMessagesAsync(3);
                await c.SendAsync("""{"type":"error","code":"room_forbidden","message":"not that room","seq":1}""");
                await c.CloseAsync(1008, "room forbidden");
                return;
            }

            // A core that kept the session (lastSeq 0: it holds none of them) and takes the rest.
            seen[c.Index] = await c.ReadMessagesAsync(3);
        }, time, ct);
        await using var client = new RelayClient(Options(core, time));
        var errors = new ConcurrentQueue<RelayClientError>();
        client.Error += errors.Enqueue;
        int welcomes = 0;
        client.StateChanged += c =>
        {
            if (c.State == RelayClientState.Connected)
            {
                Interlocked.Increment(ref welcomes);
            }
        };
        await client.ConnectAsync(ct);

        await client.SendAsync("a", room: "elsewhere", cancellationToken: ct);
        await client.SendAsync("b", cancellationToken: ct);
        await client.SendAsync("c", cancellationToken: ct);
        await ClockPump.UntilAsync(time, () => Volatile.Read(ref welcomes) >= 2, TimeSpan.FromMilliseconds(10), ct);
        long next = await client.SendAsync("d", cancellationToken: ct);
        await ClockPump.UntilAsync(time, () => seen.ContainsKey(2), TimeSpan.FromMilliseconds(10), ct);

        Assert.Multiple(() =>
        {
            Assert.That(errors.Where(e => e.Code == "room_forbidden").Select(e => (e.Seq, e.BodyJson)), Is.EqualTo(new[] { ((long?)1, (string?)"\"a\"") }));
            Assert.That(core.Connections[1].IsResume, Is.True);
            Assert.That(Messages(seen[2]), Is.EqualTo(new[] { (1L, "b"), (2L, "c"), (3L, "d") }), "from lastSeq + 1, no gap, the refused one not resent");
            Assert.That(next, Is.EqualTo(3), "a new message numbered after them");
        });
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task TooBig1009_ThenTheSessionIsLost_NothingIsDroppedByGuess_TheResumeOfTheNewSessionDropsTheRightOne(CancellationToken ct)
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var seen = new ConcurrentDictionary<int, List<JsonElement>>();
        await using var core = await ScriptedCore.StartAsync(async c =>
        {
            switch (c.Index)
            {
                case 1: // took "first", then "big" was too big
                    await c.WelcomeAsync();
                    seen[1] = await c.ReadMessagesAsync(3);
                    await c.CloseAsync(1009, "message too big");
                    break;
                case 2: // the session is gone (e.g. the core restarted)
                    await c.SendAsync("""{"type":"error","code":"session_unknown","message":"unknown session"}""");
                    await c.CloseAsync(4004, "session unknown");
                    break;
                case 3: // a new session: everything again; "first" taken, "big" too big again
                    await c.WelcomeAsync();
                    seen[3] = await c.ReadMessagesAsync(3);
                    await c.CloseAsync(1009, "message too big");
                    break;
                default: // the resume: the core holds seq 1
                    await c.WelcomeAsync(lastSeq: 1);
                    seen[c.Index] = await c.ReadMessagesAsync(1);
                    break;
            }
        }, time, ct);
        await using var client = new RelayClient(Options(core, time));
        var errors = new ConcurrentQueue<RelayClientError>();
        client.Error += errors.Enqueue;
        await client.ConnectAsync(ct);

        await client.SendAsync("first", cancellationToken: ct);
        await client.SendAsync("big", cancellationToken: ct);
        await client.SendAsync("last", cancellationToken: ct);
        await ClockPump.UntilAsync(time, () => seen.ContainsKey(4), TimeSpan.FromMilliseconds(10), ct);

        Assert.Multiple(() =>
        {
            Assert.That(Messages(seen[3]), Is.EqualTo(new[] { (1L, "first"), (2L, "big"), (3L, "last") }), "the new session gets every message: none dropped by guess");
            Assert.That(core.Connections[3].IsResume, Is.True);
            Assert.That(Messages(seen[4]), Is.EqualTo(new[] { (2L, "last") }), "after the resume: the too-big one dropped, the next renumbered");
            Assert.That(errors.Where(e => e.Code == "message_too_big").Select(e => e.BodyJson), Is.EqualTo(new[] { "\"big\"" }), "the app hears of the right message, once");
        });
    }

    private static IEnumerable<(long Seq, string Body)> Messages(List<JsonElement> frames) =>
        frames.Select(f => (f.GetProperty("seq").GetInt64(), f.GetProperty("body").GetString()!));

    private static RelayClientOptions Options(ScriptedCore core, FakeTimeProvider time) => new()
    {
        Urls = [core.Url],
        TokenProvider = _ => ValueTask.FromResult("t"),
        TimeProvider = time,
        Heartbeat = TimeSpan.Zero,
        ConnectTimeout = TimeSpan.FromHours(1),
    };
}
