namespace Relay.LoadGen;

/// <summary>
/// What one receiver got of each sender's numbered messages (1, 2, 3, … per sender; the relay keeps each sender's
/// order): in order, duplicated, or a gap. Touched only by the receiver's reader.
/// </summary>
internal sealed class DeliveryCounter
{
    // Next n expected from each sender.
    private readonly Dictionary<int, long> _next = [];

    /// <summary>Messages received for the first time.</summary>
    public long Received { get; private set; }

    /// <summary>Messages received again.</summary>
    public long Duplicated { get; private set; }

    /// <summary>Messages that arrived after a later one of the same sender.</summary>
    public long OutOfOrder { get; private set; }

    /// <summary>Records message <paramref name="n"/> of <paramref name="sender"/>.</summary>
    public void Record(int sender, long n)
    {
        long next = _next.GetValueOrDefault(sender, 1);
        if (n == next)
        {
            _next[sender] = n + 1;
            Received++;
        }
        else if (n < next)
        {
            Duplicated++;
        }
        else
        {
            OutOfOrder++;
            _next[sender] = n + 1;
            Received++;
        }
    }

    /// <summary>Messages of <paramref name="sender"/> (which sent <paramref name="sent"/>) that never arrived.</summary>
    public long Lost(int sender, long sent) => Math.Max(0, sent - (_next.GetValueOrDefault(sender, 1) - 1));
}
