using System.Collections.Concurrent;
using System.Diagnostics;
using Relay.Testing.Network;

namespace Relay.Tunnel.Tests.TestTransport;

/// <summary>
/// The emulated links' clock (Relay.Testing's <see cref="Clock"/>, under every delay line of the WAN labs and benches):
/// a wait never ends before it is due, waits end in due order whatever order they were made in, and a cancelled wait
/// ends at once without holding up the others. Properties only; how late it delivers is a bench figure (Lateness).
/// </summary>
public class LabClockTests
{
    [Test]
    [CancelAfter(30_000)]
    public async Task Waits_EndNeverEarly_InDueOrder_FromManyThreads()
    {
        long start = Stopwatch.GetTimestamp();
        var dues = Enumerable.Range(0, 300).Select(i => start + (Stopwatch.Frequency * (100 + (i * 37 % 60)) / 1000) + i).ToArray();
        var ended = new ConcurrentQueue<(int Index, long At)>();
        var late = new ConcurrentBag<int>(); // made when already due (a crowded machine): those end at once, on their own thread
        await Task.WhenAll(Enumerable.Range(0, 6).Select(worker => Task.Run(async () =>
        {
            var mine = Enumerable.Range(0, dues.Length).Where(i => i % 6 == worker).Reverse().ToArray(); // made in reverse due order
            await Task.WhenAll(mine.Select(async i =>
            {
                if (Stopwatch.GetTimestamp() + (Stopwatch.Frequency / 1000) >= dues[i])
                {
                    late.Add(i);
                }

                await Clock.SleepUntilAsync(dues[i], CancellationToken.None);
                ended.Enqueue((i, Stopwatch.GetTimestamp()));
            }));
        })));

        var order = ended.ToArray();
        Assert.That(order, Has.Length.EqualTo(dues.Length));
        Assert.That(order.Where(e => e.At < dues[e.Index]).Select(e => e.Index), Is.Empty, "waits that ended before they were due");
        var endedDues = order.Where(e => !late.Contains(e.Index)).Select(e => dues[e.Index]).ToArray();
        Assert.That(endedDues, Has.Length.GreaterThan(dues.Length / 2), "most waits were made before they were due");
        Assert.That(endedDues, Is.Ordered, "waits ended out of due order");
    }

    [Test]
    [CancelAfter(30_000)]
    public async Task CancelledWait_EndsCancelled_AndTheNextStillEnds()
    {
        using var cancel = new CancellationTokenSource();
        long now = Stopwatch.GetTimestamp();
        var far = Clock.SleepUntilAsync(now + (Stopwatch.Frequency * 3600), cancel.Token);
        var near = Clock.SleepUntilAsync(now + (Stopwatch.Frequency / 100), CancellationToken.None);
        cancel.Cancel();

        Assert.That(async () => await far, Throws.InstanceOf<OperationCanceledException>());
        await near;
        Assert.That(Stopwatch.GetTimestamp(), Is.GreaterThanOrEqualTo(now + (Stopwatch.Frequency / 100)));
        Assert.That(Clock.SleepUntilAsync(now - 1, CancellationToken.None).IsCompleted, Is.True, "a wait already due ends at once");
    }
}
