using System.Diagnostics;
using System.Runtime.InteropServices;

namespace Relay.Testing.Network;

/// <summary>
/// Waits until a Stopwatch timestamp, for the emulated links' delay lines. One dedicated thread for the process holds
/// every wait in due order: it sleeps on a monitor for the bulk (woken when an earlier wait arrives) and with
/// <c>nanosleep</c> for the last 1.5–2.5 ms, then completes the wait on itself, so the waiter's continuation (the send) runs
/// at once, not after a trip through the thread pool. Until 2026-12-03 this was <c>Task.Delay</c> plus a spin, and the
/// WAN bench's delay lines delivered 0.5–0.65 ms late on average, a quarter of them more than 1 ms late, on every
/// crossing of every emulated link (<see cref="Lateness"/> reports it per run).
/// </summary>
public static class Clock
{
    public static Task SleepUntilAsync(long due, CancellationToken token) =>
        due <= Stopwatch.GetTimestamp() ? Task.CompletedTask : PreciseTimer.Instance.WaitAsync(due, token);

    public static double Ms(long from, long to) => (to - from) * 1000.0 / Stopwatch.Frequency;

    private sealed class PreciseTimer
    {
        public static readonly PreciseTimer Instance = new();

        private static readonly long s_finalStretch = Stopwatch.Frequency * 3 / 2000; // 1.5 ms
        private readonly object _lock = new();
        private readonly PriorityQueue<TaskCompletionSource, (long Due, long Seq)> _queue = new();
        private long _seq;

        private PreciseTimer()
        {
            new Thread(Run) { IsBackground = true, Name = "relay-testing-clock" }.Start();
        }

        public Task WaitAsync(long due, CancellationToken token)
        {
            // Continuations run on the timer thread (no RunContinuationsAsynchronously): the waiter sends right away.
            var done = new TaskCompletionSource();
            if (token.CanBeCanceled)
            {
                var registration = token.Register(() => done.TrySetCanceled(token));
                done.Task.ContinueWith(_ => registration.Dispose(), CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
            }

            lock (_lock)
            {
                _queue.Enqueue(done, (due, _seq++));
                if (_queue.Peek() == done)
                {
                    Monitor.Pulse(_lock);
                }
            }

            return done.Task;
        }

        private void Run()
        {
            while (true)
            {
                TaskCompletionSource? next = null;
                long sleepTicks = 0;
                lock (_lock)
                {
                    if (!_queue.TryPeek(out var head, out var key))
                    {
                        Monitor.Wait(_lock);
                        continue;
                    }

                    long left = key.Due - Stopwatch.GetTimestamp();
                    if (left <= 0)
                    {
                        next = _queue.Dequeue();
                    }
                    else if (left > s_finalStretch + (Stopwatch.Frequency / 1000))
                    {
                        // Whole milliseconds (at least 1), at most a second at a time; woken early by an earlier wait.
                        double ms = (left - s_finalStretch) * 1000.0 / Stopwatch.Frequency;
                        Monitor.Wait(_lock, (int)Math.Min(ms, 1000));
                        continue;
                    }
                    else
                    {
                        sleepTicks = left;
                    }
                }

                if (next is not null)
                {
                    next.TrySetResult();
                }
                else
                {
                    SleepPrecisely(sleepTicks);
                }
            }
        }

        private static void SleepPrecisely(long ticks)
        {
            if (OperatingSystem.IsLinux())
            {
                long ns = ticks * 1_000_000_000 / Stopwatch.Frequency;
                var request = new TimeSpec { Seconds = ns / 1_000_000_000, Nanoseconds = ns % 1_000_000_000 };
                _ = NanoSleep(ref request, IntPtr.Zero);
                return;
            }

            long until = Stopwatch.GetTimestamp() + ticks;
            while (Stopwatch.GetTimestamp() < until)
            {
                Thread.Yield();
            }
        }

        [StructLayout(LayoutKind.Sequential)]
        private struct TimeSpec
        {
            public long Seconds;
            public long Nanoseconds;
        }

        [DllImport("libc", EntryPoint = "nanosleep", SetLastError = true)]
        private static extern int NanoSleep(ref TimeSpec request, IntPtr remaining);
    }
}
