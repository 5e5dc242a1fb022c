using System.Net;

namespace Relay.Tunnel.Server;

/// <summary>
/// Who may start a link handshake now: at most a number of handshakes in progress, per source address and in all; the
/// last <c>reserved</c> slots only for known addresses (a relay has authenticated from them before, or they are in one
/// of <c>knownNetworks</c>); and, once half the open slots are taken, no second pending handshake for an address not
/// known (a flood spreads thin before it fills the pool). An address here is a source: an IPv4 address, or an IPv6 /64
/// (one host's block; its 2^64 addresses are one source); <c>knownNetworks</c> are matched against the address itself.
/// </summary>
internal sealed class HandshakeAdmission(int max, int perAddress, int reserved, IReadOnlyList<IPNetwork>? knownNetworks = null)
{
    /// <summary>Addresses remembered as having authenticated; beyond it, new ones are not remembered (no growth under churn).</summary>
    private const int MaxKnownAddresses = 4096;

    private readonly object _gate = new();
    private readonly Dictionary<IPAddress, int> _pendingByAddress = [];
    private readonly HashSet<IPAddress> _known = [];
    private readonly IPNetwork[] _knownNetworks = [.. knownNetworks ?? []];
    private int _pending;

    /// <summary>Takes a slot for a connection from <paramref name="address"/>; null when taken, else why not.</summary>
    public string? TryEnter(IPAddress address)
    {
        bool inKnownNetwork = InKnownNetwork(address);
        address = SourceAddress.Of(address);
        lock (_gate)
        {
            _pendingByAddress.TryGetValue(address, out int mine);
            if (mine >= perAddress)
            {
                return $"{mine} handshakes from this address in progress (MaxPendingHandshakesPerAddress)";
            }

            bool known = inKnownNetwork || _known.Contains(address);
            int limit = known ? max : max - reserved;
            if (_pending >= limit)
            {
                return known ? "every handshake slot is taken (MaxPendingHandshakes)" : "every open handshake slot is taken; the rest are kept for known relays (ReservedHandshakes)";
            }

            if (!known && mine > 0 && _pending >= limit / 2)
            {
                return "handshake slots are scarce and this address has one in progress";
            }

            _pending++;
            _pendingByAddress[address] = mine + 1;
            return null;
        }
    }

    /// <summary>Gives the slot back; an address whose peer proved a relay's key is known from then on.</summary>
    public void Exit(IPAddress address, bool authenticated)
    {
        address = SourceAddress.Of(address);
        lock (_gate)
        {
            _pending--;
            if (_pendingByAddress.TryGetValue(address, out int mine) && mine > 1)
            {
                _pendingByAddress[address] = mine - 1;
            }
            else
            {
                _pendingByAddress.Remove(address);
            }

            if (authenticated && _known.Count < MaxKnownAddresses)
            {
                _known.Add(address);
            }
        }
    }

    /// <summary>Whether <paramref name="address"/> is in one of the known networks (an IPv4-mapped address matches as IPv4: IPNetwork.Contains maps it).</summary>
    private bool InKnownNetwork(IPAddress address)
    {
        foreach (var network in _knownNetworks)
        {
            if (network.Contains(address))
            {
                return true;
            }
        }

        return false;
    }
}
