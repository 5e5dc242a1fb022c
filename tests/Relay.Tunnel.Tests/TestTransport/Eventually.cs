using Microsoft.Extensions.Time.Testing;

namespace Relay.Tunnel.Tests.TestTransport;

/// <summary>Waits for an event that happens on a link's own threads (a frame read, a loop ended).</summary>
internal static class Eventually
{
    /// <summary>Polls until <paramref name="condition"/> holds; the test's own timeout bounds it.</summary>
    public static async Task HoldsAsync(Func<bool> condition, CancellationToken token)
    {
        while (!condition())
        {
            await Task.Delay(1, token);
        }
    }

    /// <summary>
    /// Advances the fake clock by <paramref name="step"/> until <paramref name="condition"/> holds (a timer's work may
    /// be scheduled on another thread after a step), at most <paramref name="maxSteps"/> steps, with
    /// <paramref name="pauseMs"/> of real time after each (longer where a step must not outrun work on other threads:
    /// a round trip measured on the fake clock grows with every step taken while its pong is on its way).
    /// </summary>
    public static async Task<TimeSpan> AdvanceUntilAsync(FakeTimeProvider time, TimeSpan step, Func<bool> condition, CancellationToken token, int maxSteps = 100, int pauseMs = 1)
    {
        var advanced = TimeSpan.Zero;
        for (int i = 0; !condition(); i++)
        {
            if (i == maxSteps)
            {
                Assert.Fail($"condition not met after {advanced} of fake time");
            }

            time.Advance(step);
            advanced += step;
            await Task.Delay(pauseMs, token);
        }

        return advanced;
    }
}
