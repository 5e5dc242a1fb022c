namespace Relay.LoadGen;

/// <summary>
/// What one receiver got of each sender's numbered messages (1, 2, 3, … per sender; a relay keeps each sender's order):
/// in order, duplicated, lost, or late. A gap (n above the next expected) is a loss: the skipped messages count as lost
/// until one arrives after all (then it is out of order, not lost). Touched only by the receiver's reader.
/// </summary>
internal sealed class DeliveryCounter
{
    // Next n expected from each sender, and the ranges it skipped (inclusive), oldest first.
    private readonly Dictionary<int, long> _next = [];
    private readonly Dictionary<int, List<(long From, long To)>> _gaps = [];

    /// <summary>Messages received for the first time.</summary>
    public long Received { get; private set; }

    /// <summary>Messages received again.</summary>
    public long Duplicated { get; private set; }

    /// <summary>Messages that arrived after a later one of the same sender (they had been counted lost).</summary>
    public long OutOfOrder { get; private set; }

    /// <summary>Messages skipped by a gap that have not arrived since.</summary>
    public long Skipped { get; private set; }

    /// <summary>Records message <paramref name="n"/> of <paramref name="sender"/>.</summary>
    public void Record(int sender, long n)
    {
        long next = _next.GetValueOrDefault(sender, 1);
        if (n == next)
        {
            _next[sender] = n + 1;
            Received++;
        }
        else if (n > next)
        {
            if (!_gaps.TryGetValue(sender, out var gaps))
            {
                _gaps[sender] = gaps = [];
            }

            gaps.Add((next, n - 1));
            Skipped += n - next;
            _next[sender] = n + 1;
            Received++;
        }
        else if (FillGap(sender, n))
        {
            Skipped--;
            OutOfOrder++;
            Received++;
        }
        else
        {
            Duplicated++;
        }
    }

    /// <summary>Messages of <paramref name="sender"/> (which sent <paramref name="sent"/>) that never arrived: the ones a
    /// gap skipped and the ones after the last that arrived.</summary>
    public long Lost(int sender, long sent)
    {
        long skipped = _gaps.TryGetValue(sender, out var gaps) ? gaps.Sum(g => g.To - g.From + 1) : 0;
        return skipped + Math.Max(0, sent - (_next.GetValueOrDefault(sender, 1) - 1));
    }

    private bool FillGap(int sender, long n)
    {
        if (!_gaps.TryGetValue(sender, out var gaps))
        {
            return false;
        }

        int i = gaps.FindIndex(g => g.From <= n && n <= g.To);
        if (i < 0)
        {
            return false;
        }

        var (from, to) = gaps[i];
        gaps.RemoveAt(i);
        if (n < to)
        {
            gaps.Insert(i, (n + 1, to));
        }

        if (from < n)
        {
            gaps.Insert(i, (from, n - 1));
        }

        return true;
    }
}
