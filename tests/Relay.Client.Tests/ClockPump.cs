using Microsoft.Extensions.Time.Testing;

namespace Relay.Client.Tests;

/// <summary>Drives a <see cref="FakeTimeProvider"/> forward in small steps while the client works in real time.</summary>
internal static class ClockPump
{
    /// <summary>
    /// Advances <paramref name="time"/> by <paramref name="step"/> at a time, letting the client run between steps, until
    /// <paramref name="done"/> (bounded: at most 3,000 steps). Assertions are on the fake clock, never on the wall clock.
    /// </summary>
    public static async Task UntilAsync(FakeTimeProvider time, Func<bool> done, TimeSpan step, CancellationToken ct)
    {
        for (int i = 0; i < 3000 && !done(); i++)
        {
            time.Advance(step);
            await Task.Delay(5, ct);
        }

        Assert.That(done(), Is.True, "the client never got there");
    }
}
