using System.Diagnostics.Metrics;
using System.Net;
using Relay.Tunnel.Links;

namespace Relay.Tunnel.Server;

/// <summary>Options of the core-side link listener.</summary>
public sealed class LinkListenerOptions
{
    /// <summary>Address to listen on. Defaults to 0.0.0.0:7000.</summary>
    public IPEndPoint EndPoint { get; set; } = new(IPAddress.Any, 7000);

    /// <summary>This core node's id, told to relays at hello. Defaults to the machine name.</summary>
    public string NodeId { get; set; } = Environment.MachineName;

    /// <summary>Handshakes in progress at most; more connections wait in the accept backlog. Defaults to 256.</summary>
    public int MaxPendingHandshakes { get; set; } = 256;

    /// <summary>How often the listener's single heartbeat timer ticks. Defaults to 250 ms.</summary>
    public TimeSpan TickInterval { get; set; } = TimeSpan.FromMilliseconds(250);

    /// <summary>How long disposing waits for the links' loops to end before it ends their streams. Defaults to 5 s.</summary>
    public TimeSpan ShutdownTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// Where the listener's meter (<c>Relay.Tunnel</c>) comes from: the host's factory, so its exporter sees
    /// this listener's backhaul and no other. Defaults to null: a meter of the listener's own.
    /// </summary>
    public IMeterFactory? MeterFactory { get; set; }

    /// <summary>Link-level options (key, windows, heartbeat, timeouts, re-attach grace) and the time source every timer of the listener reads.</summary>
    public LinkOptions Link { get; set; } = new();

    /// <summary>Throws <see cref="ArgumentException"/> naming the first bad setting.</summary>
    public void Validate()
    {
        if (string.IsNullOrWhiteSpace(NodeId))
        {
            throw new ArgumentException("NodeId: required.");
        }

        if (MaxPendingHandshakes < 1)
        {
            throw new ArgumentException("MaxPendingHandshakes: must be at least 1.");
        }

        Link.Validate();
    }
}
