using System.Globalization;
using Relay.WireGuard.Devices;

namespace Relay.WireGuard.Health;

/// <summary>
/// Turns successive device readings into a verdict. Unhealthy when: the device does not answer; a peer's
/// latest handshake is older than <see cref="WireGuardOptions.HandshakeTimeout"/> (or it never had one that
/// long after start); or nothing was received from a peer for <see cref="WireGuardOptions.NoTrafficTimeout"/>
/// while the backhaul links are failing or while we kept sending to it. Recovery is seen at the next reading.
/// Not thread-safe: one poller feeds it.
/// </summary>
public sealed class TunnelHealthTracker(WireGuardOptions options, string mode, DateTimeOffset startedAt)
{
    private readonly Dictionary<string, PeerProgress> _progress = new(StringComparer.Ordinal);

    /// <summary>Folds one reading (or a read failure) into a status.</summary>
    public TunnelStatus Observe(DeviceState? state, string? readError, string backend, DateTimeOffset now, bool linksFailing)
    {
        string iface = options.Interface;
        if (state is null)
        {
            return new TunnelStatus(TunnelHealth.Unhealthy, $"tunnel {iface}: device not answering ({readError ?? "no state"})", iface, mode, backend, null, null, 0, 0, now);
        }

        if (state.Peers.Count == 0)
        {
            return new TunnelStatus(TunnelHealth.Unhealthy, $"tunnel {iface}: no peer configured", iface, mode, backend, null, null, 0, 0, now);
        }

        var worst = (Health: TunnelHealth.Healthy, Reason: (string?)null, Age: (TimeSpan?)null);
        foreach (var peer in state.Peers)
        {
            var verdict = Judge(iface, peer, now, linksFailing);
            if (verdict.Health > worst.Health || (verdict.Health == worst.Health && worst.Age is null))
            {
                worst = verdict;
            }
        }

        return new TunnelStatus(worst.Health, worst.Reason, iface, mode, backend, state.Peers[0].Endpoint, worst.Age,
            state.Peers.Sum(p => p.RxBytes), state.Peers.Sum(p => p.TxBytes), now);
    }

    private (TunnelHealth Health, string? Reason, TimeSpan? Age) Judge(string iface, PeerState peer, DateTimeOffset now, bool linksFailing)
    {
        string who = peer.Endpoint ?? "peer without endpoint";
        string id = peer.PublicKey.ToHex();
        if (!_progress.TryGetValue(id, out var progress) || peer.RxBytes < progress.Rx)
        {
            progress = new PeerProgress(peer.RxBytes, peer.TxBytes, now);
        }
        else if (peer.RxBytes > progress.Rx)
        {
            progress = new PeerProgress(peer.RxBytes, peer.TxBytes, now);
        }

        _progress[id] = progress;
        TimeSpan? age = peer.LastHandshake is { } at ? now - at : null;
        if (age is null)
        {
            TimeSpan since = now - startedAt;
            return since > options.HandshakeTimeout
                ? (TunnelHealth.Unhealthy, $"tunnel {iface}: no handshake with {who} in {Seconds(since)} since start", null)
                : (TunnelHealth.Waiting, $"tunnel {iface}: waiting for the first handshake with {who}", null);
        }

        if (age > options.HandshakeTimeout)
        {
            return (TunnelHealth.Unhealthy, $"tunnel {iface}: latest handshake with {who} was {Seconds(age.Value)} ago (limit {Seconds(options.HandshakeTimeout)})", age);
        }

        TimeSpan silent = now - progress.Since;
        bool sending = peer.TxBytes > progress.TxAtRx;
        if (silent >= options.NoTrafficTimeout && (linksFailing || sending))
        {
            string why = linksFailing ? "while the backhaul links are failing" : "while sending to it";
            return (TunnelHealth.Unhealthy, $"tunnel {iface}: nothing received from {who} for {Seconds(silent)} {why}", age);
        }

        return (TunnelHealth.Healthy, null, age);
    }

    private static string Seconds(TimeSpan t) => t.TotalSeconds.ToString("0", CultureInfo.InvariantCulture) + " s";

    private readonly record struct PeerProgress(long Rx, long TxAtRx, DateTimeOffset Since);
}
