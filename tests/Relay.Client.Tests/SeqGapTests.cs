using System.Collections.Concurrent;
using Microsoft.Extensions.Time.Testing;

namespace Relay.Client.Tests;

/// <summary>
/// A message from the core whose seq skips ahead (a gap the core should never produce): the client neither delivers past
/// the gap nor stalls on it; it ends the connection and resumes from the last message it delivered, and the application
/// gets every message once, in order.
/// </summary>
[TestFixture]
public sealed class SeqGapTests
{
    [Test]
    [CancelAfter(60_000)]
    public async Task IncomingSeqSkipsAhead_TheClientResumesForTheReplay_EveryMessageOnceInOrder(CancellationToken ct)
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var core = await ScriptedCore.StartAsync(async c =>
        {
            await c.WelcomeAsync();
            if (c.Index == 1)
            {
                await c.SendAsync("""{"type":"msg","seq":1,"ack":0,"body":"one"}""");
                await c.SendAsync("""{"type":"msg","seq":3,"ack":0,"body":"three"}""");
                return;
            }

            await c.SendAsync("""{"type":"msg","seq":2,"ack":0,"body":"two"}""");
            await c.SendAsync("""{"type":"msg","seq":3,"ack":0,"body":"three"}""");
        }, time, ct);
        await using var client = new RelayClient(new RelayClientOptions
        {
            Urls = [core.Url],
            TokenProvider = _ => ValueTask.FromResult("t"),
            TimeProvider = time,
            Heartbeat = TimeSpan.Zero,
            ConnectTimeout = TimeSpan.FromHours(1),
        });
        var errors = new ConcurrentQueue<RelayClientError>();
        client.Error += errors.Enqueue;
        var received = new ConcurrentQueue<ChatMessage>();
        await client.ConnectAsync(ct);
        var reader = Task.Run(async () =>
        {
            await foreach (var m in client.ReadAllAsync(ct))
            {
                received.Enqueue(m);
            }
        }, ct);

        await ClockPump.UntilAsync(time, () => received.Count >= 3 || core.Count >= 3, TimeSpan.FromMilliseconds(10), ct);

        Assert.Multiple(() =>
        {
            Assert.That(received.Select(m => (m.Seq, m.Body)), Is.EqualTo(new[] { (1L, "one"), (2L, "two"), (3L, "three") }));
            Assert.That(core.Count, Is.EqualTo(2), "one resume");
            Assert.That(core.Connections[1].ResumeLastSeq, Is.EqualTo(1), "resumed from the last message delivered");
            Assert.That(errors.Select(e => e.Code), Does.Contain("seq_gap"));
        });
    }
}
