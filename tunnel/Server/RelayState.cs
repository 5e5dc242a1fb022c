using System.Collections.Concurrent;

namespace Relay.Tunnel.Server;

/// <summary>The core's state for one relay: its links and its streams (kept across link loss).</summary>
internal sealed class RelayState(string relayId)
{
    private readonly object _gate = new();
    private List<Link> _links = [];

    public string RelayId { get; } = relayId;

    public string Region { get; set; } = string.Empty;

    public ConcurrentDictionary<ulong, MuxStream> Streams { get; } = new();

    /// <summary>Most ended stream ids kept (issue 22): about 40 bytes each, so at most about 650 KB per relay.</summary>
    public const int MaxEndedStreams = 16_384;

    private readonly Queue<(ulong Id, long At)> _ended = new();
    private readonly HashSet<ulong> _endedIds = [];

    /// <summary>Serializes the handling of OPEN and OPEN_COPY, and the ending of streams, for this relay (issue 22: the
    /// two may arrive at once on two links' read loops; one stream must come of them).</summary>
    public object OpenGate { get; } = new();

    /// <summary>
    /// Under <see cref="OpenGate"/>: the streams in <see cref="Streams"/>, kept beside it for the per-relay cap checked at
    /// every OPEN (a <see cref="ConcurrentDictionary{TKey, TValue}"/>'s Count takes all its locks).
    /// </summary>
    public int OpenStreams { get; set; }

    /// <summary>
    /// Under <see cref="OpenGate"/>: remembers a stream that ended while the other of its OPEN and OPEN_COPY had not
    /// arrived, so that one, arriving late, does not open the stream again. Capped; the oldest go first.
    /// </summary>
    public void AddEnded(ulong id, long now)
    {
        if (_endedIds.Add(id))
        {
            _ended.Enqueue((id, now));
            while (_ended.Count > MaxEndedStreams)
            {
                _endedIds.Remove(_ended.Dequeue().Id);
            }
        }
    }

    /// <summary>Under <see cref="OpenGate"/>: the stream ended with an OPEN or OPEN_COPY still to come.</summary>
    public bool IsEnded(ulong id) => _endedIds.Contains(id);

    /// <summary>Forgets ended streams older than <paramref name="keep"/>.</summary>
    public void PruneEnded(TimeProvider time, long now, TimeSpan keep)
    {
        lock (OpenGate)
        {
            while (_ended.TryPeek(out var entry) && time.GetElapsedTime(entry.At, now) > keep)
            {
                _endedIds.Remove(_ended.Dequeue().Id);
            }
        }
    }

    public IReadOnlyList<Link> LinksSnapshot() => Volatile.Read(ref _links);

    /// <summary>Adds a link; true when it is the relay's only one.</summary>
    public bool AddLink(Link link)
    {
        lock (_gate)
        {
            _links = [.. _links, link];
            return _links.Count == 1;
        }
    }

    /// <summary>Removes a link; true when the relay has none left.</summary>
    public bool RemoveLink(Link link)
    {
        lock (_gate)
        {
            _links = _links.Where(l => l != link).ToList();
            return _links.Count == 0;
        }
    }
}
