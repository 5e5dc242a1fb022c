using System.Diagnostics;

namespace Relay.Testing.Network;

/// <summary>
/// How late a delay line delivered: for each chunk or packet, the time it was sent minus the time it was due. A bench
/// reports it beside its figures, so what the emulated link added beyond its nominal delay is known, not guessed.
/// </summary>
public sealed class Lateness
{
    private long _count;
    private long _sumTicks;
    private long _maxTicks;
    private long _overOneMs;

    /// <summary>Records one delivery due at <paramref name="due"/> (a Stopwatch timestamp), sent now.</summary>
    public void Record(long due)
    {
        long late = Math.Max(0, Stopwatch.GetTimestamp() - due);
        Interlocked.Increment(ref _count);
        Interlocked.Add(ref _sumTicks, late);
        if (late * 1000 > Stopwatch.Frequency)
        {
            Interlocked.Increment(ref _overOneMs);
        }

        long max;
        while (late > (max = Volatile.Read(ref _maxTicks)) && Interlocked.CompareExchange(ref _maxTicks, late, max) != max)
        {
        }
    }

    public long Count => Interlocked.Read(ref _count);

    public double MeanMs => Count == 0 ? 0 : Interlocked.Read(ref _sumTicks) * 1000.0 / Stopwatch.Frequency / Count;

    public double MaxMs => Interlocked.Read(ref _maxTicks) * 1000.0 / Stopwatch.Frequency;

    /// <summary>Share of deliveries more than 1 ms late, 0–1.</summary>
    public double OverOneMs => Count == 0 ? 0 : (double)Interlocked.Read(ref _overOneMs) / Count;

    public override string ToString() =>
        $"{Count:N0} deliveries, {MeanMs:0.00} ms late on average, {OverOneMs:P1} more than 1 ms late, at most {MaxMs:0.0} ms";
}
