using System.Globalization;
using System.Text;
using Relay.WireGuard.Config;
using Relay.WireGuard.Devices;
using Relay.WireGuard.Keys;

namespace Relay.WireGuard.Uapi;

/// <summary>
/// The cross-platform userspace API's text format (wireguard-go, boringtun): "get=1\n\n" answers
/// key=value lines then "errno=N" and a blank line; "set=1\n" followed by key=value lines and a
/// blank line answers "errno=N". Keys are hex; a "public_key" line starts a peer.
/// </summary>
public static class UapiProtocol
{
    /// <summary>The get request.</summary>
    public const string GetRequest = "get=1\n\n";

    /// <summary>
    /// Builds a set request that makes the device match <paramref name="config"/> exactly: it replaces
    /// peers and each peer's allowed IPs. Endpoints must already be IP literals (resolve host names first).
    /// </summary>
    public static string BuildSet(WireGuardConfig config)
    {
        var inv = CultureInfo.InvariantCulture;
        var sb = new StringBuilder("set=1\n");
        sb.Append("private_key=").Append(config.Interface.PrivateKey.ToHex()).Append('\n');
        if (config.Interface.ListenPort is int port)
        {
            sb.Append(inv, $"listen_port={port}\n");
        }

        sb.Append("replace_peers=true\n");
        foreach (var peer in config.Peers)
        {
            sb.Append("public_key=").Append(peer.PublicKey.ToHex()).Append('\n');
            if (peer.PresharedKey is not null)
            {
                sb.Append("preshared_key=").Append(peer.PresharedKey.ToHex()).Append('\n');
            }

            if (peer.Endpoint is not null)
            {
                sb.Append("endpoint=").Append(peer.Endpoint).Append('\n');
            }

            sb.Append(inv, $"persistent_keepalive_interval={peer.PersistentKeepalive ?? 0}\n");
            sb.Append("replace_allowed_ips=true\n");
            foreach (var ip in peer.AllowedIps)
            {
                sb.Append("allowed_ip=").Append(ip).Append('\n');
            }
        }

        sb.Append('\n');
        return sb.ToString();
    }

    /// <summary>
    /// Parses the answer to get=1. Returns the errno (0 on success) and the state; unknown keys are
    /// skipped (newer devices add some). Throws <see cref="FormatException"/> on a malformed answer.
    /// </summary>
    public static DeviceState ParseGet(string interfaceName, string text, out int errno)
    {
        errno = 0;
        bool sawErrno = false;
        WireGuardKey? devicePublic = null;
        int listenPort = 0;
        var peers = new List<PeerState>();
        PeerBuilder? peer = null;
        foreach (string raw in text.Split('\n'))
        {
            string line = raw.TrimEnd('\r');
            if (line.Length == 0)
            {
                continue;
            }

            int eq = line.IndexOf('=', StringComparison.Ordinal);
            if (eq <= 0)
            {
                throw new FormatException($"UAPI: line without '=' ({Math.Min(line.Length, 40)} characters)");
            }

            string key = line[..eq], value = line[(eq + 1)..];
            switch (key)
            {
                case "errno":
                    errno = ParseInt(key, value);
                    sawErrno = true;
                    break;
                case "private_key":
                    devicePublic = WireGuardKey.TryParseHex(value, out var priv) && !priv!.IsZero ? WireGuardKeyPair.DerivePublicKey(priv) : null;
                    break;
                case "listen_port":
                    listenPort = ParseInt(key, value);
                    break;
                case "public_key":
                    if (peer is not null)
                    {
                        peers.Add(peer.Build());
                    }

                    peer = new PeerBuilder(WireGuardKey.TryParseHex(value, out var pub) ? pub! : throw new FormatException("UAPI: public_key is not 64 hex digits"));
                    break;
                default:
                    if (peer is not null)
                    {
                        peer.Set(key, value);
                    }

                    break;
            }
        }

        if (peer is not null)
        {
            peers.Add(peer.Build());
        }

        if (!sawErrno)
        {
            throw new FormatException("UAPI: the answer has no errno line (truncated)");
        }

        return new DeviceState(interfaceName, devicePublic, listenPort, peers);
    }

    /// <summary>Reads "errno=N" from the answer to a set request.</summary>
    public static int ParseErrno(string text)
    {
        foreach (string line in text.Split('\n'))
        {
            if (line.StartsWith("errno=", StringComparison.Ordinal))
            {
                return ParseInt("errno", line[6..].TrimEnd('\r'));
            }
        }

        throw new FormatException("UAPI: the answer has no errno line");
    }

    private static int ParseInt(string key, string value) =>
        int.TryParse(value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out int n) ? n : throw new FormatException($"UAPI: {key} is not a number");

    private static long ParseLong(string key, string value) =>
        long.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out long n) ? n : throw new FormatException($"UAPI: {key} is not a number");

    private sealed class PeerBuilder(WireGuardKey publicKey)
    {
        private readonly List<string> _allowed = [];
        private string? _endpoint;
        private long _sec, _nsec, _rx, _tx;
        private int _keepalive;

        public void Set(string key, string value)
        {
            switch (key)
            {
                case "endpoint": _endpoint = value; break;
                case "last_handshake_time_sec": _sec = ParseLong(key, value); break;
                case "last_handshake_time_nsec": _nsec = ParseLong(key, value); break;
                case "rx_bytes": _rx = ParseLong(key, value); break;
                case "tx_bytes": _tx = ParseLong(key, value); break;
                case "persistent_keepalive_interval": _keepalive = ParseInt(key, value); break;
                case "allowed_ip": _allowed.Add(value); break;
                default: break; // preshared_key, protocol_version and keys from newer versions
            }
        }

        public PeerState Build()
        {
            DateTimeOffset? handshake = _sec == 0 && _nsec == 0 ? null : DateTimeOffset.FromUnixTimeSeconds(_sec).AddTicks(_nsec / 100);
            return new PeerState(publicKey, _endpoint, handshake, _rx, _tx, _keepalive, [.. _allowed]);
        }
    }
}
