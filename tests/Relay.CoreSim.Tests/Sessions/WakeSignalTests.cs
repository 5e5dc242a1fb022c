using Relay.CoreSim.Sessions;

namespace Relay.CoreSim.Tests.Sessions;

/// <summary>
/// Issue 21: the write loop's wake signal that replaced a one-item channel (~700 B per idle connection). Same
/// semantics: wakes merge, a wake before the wait is not lost, a pending wake is taken before the end.
/// </summary>
public class WakeSignalTests
{
    [Test]
    [CancelAfter(10_000)]
    public async Task Wakes_Merge_AreNotLost_AndTheEndComesAfterAPendingWake(CancellationToken token)
    {
        var signal = new WakeSignal();
        Assert.That(signal.Set(), Is.True);
        Assert.That(signal.Set(), Is.True, "a second wake merges with the pending one");
        Assert.That(await signal.WaitAsync(), Is.True, "a wake before the wait is not lost");

        var waiting = signal.WaitAsync().AsTask();
        Assert.That(waiting.IsCompleted, Is.False, "the merged wakes were one");
        signal.Set();
        Assert.That(await waiting.WaitAsync(token), Is.True, "a waiting loop is woken");

        signal.Set();
        signal.Complete();
        Assert.That(signal.Set(), Is.False, "no wakes after the end");
        Assert.That(await signal.WaitAsync(), Is.True, "the wake pending at the end is still taken");
        Assert.That(await signal.WaitAsync(), Is.False, "then the end");

        var ended = new WakeSignal();
        var pending = ended.WaitAsync().AsTask();
        ended.Complete();
        Assert.That(await pending.WaitAsync(token), Is.False, "the end wakes a waiting loop");
    }
}
