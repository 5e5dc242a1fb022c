using System.Diagnostics;

namespace Relay.Testing.Network;

/// <summary>Waits until a Stopwatch timestamp: a timer for the bulk, then a short spin for the last millisecond.</summary>
public static class Clock
{
    public static async ValueTask SleepUntilAsync(long due, CancellationToken token)
    {
        while (true)
        {
            long left = due - Stopwatch.GetTimestamp();
            if (left <= 0)
            {
                return;
            }

            double ms = left * 1000.0 / Stopwatch.Frequency;
            if (ms > 1.5)
            {
                await Task.Delay(TimeSpan.FromMilliseconds(ms - 1), token);
            }
            else
            {
                Thread.SpinWait(50);
                if (ms > 0.2)
                {
                    await Task.Yield();
                }
            }
        }
    }

    public static double Ms(long from, long to) => (to - from) * 1000.0 / Stopwatch.Frequency;
}
