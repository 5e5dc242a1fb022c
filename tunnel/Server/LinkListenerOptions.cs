using System.Diagnostics.Metrics;
using System.Net;

namespace Relay.Tunnel.Server;

/// <summary>Options of the core-side link listener.</summary>
public sealed class LinkListenerOptions
{
    /// <summary>Address to listen on. Defaults to 0.0.0.0:7000.</summary>
    public IPEndPoint EndPoint { get; set; } = new(IPAddress.Any, 7000);

    /// <summary>This core node's id, told to relays at hello. Defaults to the machine name.</summary>
    public string NodeId { get; set; } = Environment.MachineName;

    /// <summary>
    /// The key of a relay by its id (the core's keyring): the HELLO's relay id selects the key the relay must prove, so
    /// a relay cannot pose as another; null for an id the keyring does not hold (refused). Defaults to null: every
    /// relay proves <see cref="LinkOptions.SharedKey"/>.
    /// </summary>
    public Func<string, byte[]?>? KeyForRelay { get; set; }

    /// <summary>
    /// Handshakes in progress at most; a connection beyond it is closed at once (never queued, so a flood cannot delay
    /// a relay behind it). Defaults to 256.
    /// </summary>
    public int MaxPendingHandshakes { get; set; } = 256;

    /// <summary>Handshakes in progress at most from one source address; more are closed at once. Defaults to 8.</summary>
    public int MaxPendingHandshakesPerAddress { get; set; } = 8;

    /// <summary>
    /// Of <see cref="MaxPendingHandshakes"/>, the slots only addresses a relay has authenticated from before may take,
    /// so that idle connections from other addresses cannot hold every slot and a relay whose link dropped reconnects
    /// during a flood. Defaults to 32.
    /// </summary>
    public int ReservedHandshakes { get; set; } = 32;

    /// <summary>
    /// Networks whose sources count as known from the start, as if a relay had authenticated from them: they may take
    /// the <see cref="ReservedHandshakes"/> slots before any relay has, so a relay new to this listener (or every relay,
    /// after a restart) gets in during a flood from elsewhere. Typically the relays' tunnel network. An address is
    /// matched as it is (an IPv4-mapped IPv6 address as IPv4), not as its source partition. Defaults to none.
    /// </summary>
    public IReadOnlyList<IPNetwork> KnownNetworks { get; set; } = [];

    /// <summary>
    /// Time a new connection has to complete the handshake (HELLO and a valid PROOF) before it is closed: short, as the
    /// peer is not yet authenticated. Read on <see cref="LinkOptions.TimeProvider"/>. Defaults to 2 s.
    /// </summary>
    public TimeSpan HandshakeTimeout { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>
    /// Links one relay may hold at once; a link beyond it is closed right after its handshake. Defaults to 128: twice
    /// the most a gateway opens per endpoint (64), so that a relay reconnecting while its old links are not yet known
    /// dead still gets all of them, while one relay (its key stolen, or a bug) cannot use up the core's files.
    /// </summary>
    public int MaxLinksPerRelay { get; set; } = 128;

    /// <summary>
    /// Streams one relay may hold open on this core at once; an OPEN beyond it is refused with 1013. Defaults to 250,000
    /// (a relay's sessions and edge HTTP connections; about 2 KiB of state each on the core).
    /// </summary>
    public int MaxStreamsPerRelay { get; set; } = 250_000;

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

        if (MaxLinksPerRelay < 1)
        {
            throw new ArgumentException("MaxLinksPerRelay: must be at least 1.");
        }

        if (MaxStreamsPerRelay < 1)
        {
            throw new ArgumentException("MaxStreamsPerRelay: must be at least 1.");
        }

        if (MaxPendingHandshakesPerAddress < 1)
        {
            throw new ArgumentException("MaxPendingHandshakesPerAddress: must be at least 1.");
        }

        if (ReservedHandshakes < 0 || ReservedHandshakes >= MaxPendingHandshakes)
        {
            throw new ArgumentException($"ReservedHandshakes: must be 0 to MaxPendingHandshakes - 1 ({MaxPendingHandshakes - 1}); was {ReservedHandshakes}.");
        }

        if (KnownNetworks is null)
        {
            throw new ArgumentException("KnownNetworks: must not be null (empty for none).");
        }

        if (HandshakeTimeout <= TimeSpan.Zero)
        {
            throw new ArgumentException("HandshakeTimeout: must be positive.");
        }

        Link.Validate(requireKey: KeyForRelay is null);
    }
}
