namespace Relay.AttackBench;

/// <summary>What one kind of flood connection met (cumulative; <see cref="OpenPeak"/> is the most open at once).</summary>
internal sealed class FloodStats
{
    private long _opened, _open, _openPeak, _refused, _timeouts, _errors, _closedByPeer;

    public string Kind { get; init; } = "";

    public long Opened { get => Interlocked.Read(ref _opened); init => _opened = value; }

    public long Open { get => Interlocked.Read(ref _open); init => _open = value; }

    public long OpenPeak { get => Interlocked.Read(ref _openPeak); init => _openPeak = value; }

    /// <summary>Connects refused: RST to the SYN (the listener's queue full or the port closed), or a reset before the
    /// connect completed (the server reset it at accept).</summary>
    public long Refused { get => Interlocked.Read(ref _refused); init => _refused = value; }

    /// <summary>Connects not accepted within the connect timeout.</summary>
    public long Timeouts { get => Interlocked.Read(ref _timeouts); init => _timeouts = value; }

    /// <summary>Other connect errors (e.g. out of local ports or files on the flood's side).</summary>
    public long Errors { get => Interlocked.Read(ref _errors); init => _errors = value; }

    /// <summary>Open connections the server closed or reset.</summary>
    public long ClosedByPeer { get => Interlocked.Read(ref _closedByPeer); init => _closedByPeer = value; }

    public void Connected()
    {
        Interlocked.Increment(ref _opened);
        long open = Interlocked.Increment(ref _open);
        long peak;
        while (open > (peak = Interlocked.Read(ref _openPeak)) && Interlocked.CompareExchange(ref _openPeak, open, peak) != peak)
        {
        }
    }

    public void Closed(bool byPeer)
    {
        Interlocked.Decrement(ref _open);
        if (byPeer)
        {
            Interlocked.Increment(ref _closedByPeer);
        }
    }

    public void RefusedOne() => Interlocked.Increment(ref _refused);

    public void TimedOut() => Interlocked.Increment(ref _timeouts);

    public void Failed() => Interlocked.Increment(ref _errors);

    /// <summary>Sums the same kind from several flood processes.</summary>
    public static FloodStats Sum(string kind, IEnumerable<FloodStats> all)
    {
        var list = all.Where(s => s.Kind == kind).ToList();
        return new FloodStats
        {
            Kind = kind,
            Opened = list.Sum(s => s.Opened),
            Open = list.Sum(s => s.Open),
            OpenPeak = list.Sum(s => s.OpenPeak),
            Refused = list.Sum(s => s.Refused),
            Timeouts = list.Sum(s => s.Timeouts),
            Errors = list.Sum(s => s.Errors),
            ClosedByPeer = list.Sum(s => s.ClosedByPeer),
        };
    }
}
