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
