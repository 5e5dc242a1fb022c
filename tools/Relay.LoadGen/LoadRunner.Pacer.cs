using System.Diagnostics;

namespace Relay.LoadGen;

public sealed partial class LoadRunner
{
    private Exception? _paceFailure;

    /// <summary>Sends every session's timed messages from one thread: each session once per period, at its own random
    /// phase. One thread that sleeps until the next turn (about 1 ms at 1,000 sessions × 20/s) replaces one
    /// <see cref="PeriodicTimer"/> per session (that was 20,000 timer callbacks a second through the runtime's
    /// timer-queue lock and the thread pool), so the load generator spends its CPU on the sockets, not on pacing, and
    /// disturbs the measured path less. A session whose previous message still waits for a window slot skips its turn
    /// (as a periodic timer coalesces missed ticks); the report's sent/s shows the load actually offered. No turn falls
    /// at or after <paramref name="seconds"/> from the start: the run offers at most its schedule however late the end's
    /// cancellation is seen (a loaded machine saw it a period late: one turn too many per session).</summary>
    private Task PaceAsync(Worker[] workers, double rate, double seconds, CancellationToken ct)
    {
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var thread = new Thread(() =>
        {
            try
            {
                Pace(workers, rate, seconds, ct);
                done.TrySetResult();
            }
            catch (Exception e)
            {
                done.TrySetException(e);
            }
        })
        {
            IsBackground = true,
            Name = "loadgen pacer",
        };
        thread.Start();
        return done.Task;
    }

    private void Pace(Worker[] workers, double rate, double seconds, CancellationToken ct)
    {
        long period = Math.Max(1, (long)(Stopwatch.Frequency / rate));
        long end = Stopwatch.GetTimestamp() + (long)(seconds * Stopwatch.Frequency);
        // How far behind the schedule the pacer may fall and still send every missed turn: one period, or 10 ms when
        // periods are shorter than the pacer's ~1 ms sleep (rates above ~100/s per session need several turns a wake).
        long maxLag = Math.Max(period, Stopwatch.Frequency / 100);
        // Phases spread at random over one period, as independent clients would be; sorted, so one cursor walks them.
        var turns = workers.Select(w => (Phase: (long)(Random.Shared.NextDouble() * period), Worker: w)).OrderBy(t => t.Phase).ToArray();
        long cycle = Stopwatch.GetTimestamp();
        int next = 0;
        while (!ct.IsCancellationRequested && turns.Length > 0)
        {
            if (Volatile.Read(ref _paceFailure) is { } failure)
            {
                throw new InvalidOperationException("A timed send failed: " + failure.Message, failure);
            }

            long now = Stopwatch.GetTimestamp();
            if (next < turns.Length && cycle + turns[next].Phase >= end)
            {
                return; // every turn before the end is taken
            }

            while (next < turns.Length && cycle + turns[next].Phase <= now && cycle + turns[next].Phase < end)
            {
                turns[next].Worker.SendPaced(ct);
                next++;
            }

            if (next == turns.Length)
            {
                // Next period. After a stall (a GC, a descheduled thread) catch up at most maxLag: the offered rate
                // holds, without a burst of every turn missed in a long stall.
                next = 0;
                cycle = Math.Max(cycle + period, now - maxLag);
                continue;
            }

            // Until the next turn (at least 1 ms, the timer's resolution; at most 50 ms, to notice the end promptly). A
            // blocking sleep on purpose: this is the pacer's own thread, no thread-pool worker waits and no timer fires.
            Thread.Sleep((int)Math.Clamp((cycle + turns[next].Phase - now) * 1000 / Stopwatch.Frequency, 1, 50));
        }
    }

    /// <summary>A timed send that completed later failed (not by cancellation): the pacer stops the run with it.</summary>
    private void PaceFailed(Exception e) => Interlocked.CompareExchange(ref _paceFailure, e, null);
}
