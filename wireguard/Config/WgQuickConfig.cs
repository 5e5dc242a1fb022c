using System.Globalization;
using System.Text;
using Relay.WireGuard.Keys;

namespace Relay.WireGuard.Config;

/// <summary>
/// Reads and writes the wg-quick .conf format: [Interface] PrivateKey, Address, ListenPort, MTU;
/// [Peer] PublicKey, PresharedKey, AllowedIPs, Endpoint, PersistentKeepalive. Keys are
/// case-insensitive, '#' starts a comment, lists are comma-separated and may repeat. Anything
/// else (unknown keys, hooks such as PostUp, DNS) is refused with a <see cref="ConfigException"/>
/// naming the line, section and key: Relay does not run shell hooks.
/// </summary>
public static class WgQuickConfig
{
    /// <summary>Longest accepted file, 1 MiB.</summary>
    public const int MaxLength = 1024 * 1024;

    /// <summary>Reads and validates a .conf file.</summary>
    public static WireGuardConfig Load(string path)
    {
        if (!File.Exists(path))
        {
            throw new ConfigException($"WireGuard configuration '{path}' does not exist", path);
        }

        WireGuardKeyFile.EnsureOwnerOnly(path);
        return Parse(File.ReadAllText(path), path);
    }

    /// <summary>Writes a .conf file readable only by its owner.</summary>
    public static void Save(string path, WireGuardConfig config) => WireGuardKeyFile.WriteSecret(path, Write(config));

    /// <summary>Parses .conf text. Throws only <see cref="ConfigException"/>.</summary>
    public static WireGuardConfig Parse(string text, string? source = null)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (text.Length > MaxLength)
        {
            throw new ConfigException($"configuration is larger than {MaxLength} characters", source);
        }

        var builder = new Builder(source);
        string[] lines = text.Split('\n');
        for (int i = 0; i < lines.Length; i++)
        {
            builder.Line(lines[i], i + 1);
        }

        return builder.Build();
    }

    /// <summary>Formats a configuration as wg-quick .conf text (holds the private key: keep it owner-only).</summary>
    public static string Write(WireGuardConfig config)
    {
        var sb = new StringBuilder();
        var inv = CultureInfo.InvariantCulture;
        sb.Append("[Interface]\n");
        sb.Append("PrivateKey = ").Append(config.Interface.PrivateKey.ToBase64()).Append('\n');
        if (config.Interface.Addresses.Count > 0)
        {
            sb.Append("Address = ").AppendJoin(", ", config.Interface.Addresses).Append('\n');
        }

        if (config.Interface.ListenPort is int port)
        {
            sb.Append(inv, $"ListenPort = {port}\n");
        }

        if (config.Interface.Mtu is int mtu)
        {
            sb.Append(inv, $"MTU = {mtu}\n");
        }

        foreach (var peer in config.Peers)
        {
            sb.Append("\n[Peer]\n");
            sb.Append("PublicKey = ").Append(peer.PublicKey.ToBase64()).Append('\n');
            if (peer.PresharedKey is not null)
            {
                sb.Append("PresharedKey = ").Append(peer.PresharedKey.ToBase64()).Append('\n');
            }

            if (peer.AllowedIps.Count > 0)
            {
                sb.Append("AllowedIPs = ").AppendJoin(", ", peer.AllowedIps).Append('\n');
            }

            if (peer.Endpoint is not null)
            {
                sb.Append("Endpoint = ").Append(peer.Endpoint).Append('\n');
            }

            if (peer.PersistentKeepalive is int keepalive)
            {
                sb.Append(inv, $"PersistentKeepalive = {keepalive}\n");
            }
        }

        return sb.ToString();
    }

    /// <summary>Checks an endpoint "host:port" / "[v6]:port"; returns the host and port.</summary>
    public static bool TryParseEndpoint(string text, out string host, out int port)
    {
        host = string.Empty;
        port = 0;
        int colon = text.LastIndexOf(':');
        if (colon <= 0 || colon == text.Length - 1)
        {
            return false;
        }

        string h = text[..colon], p = text[(colon + 1)..];
        if (h.StartsWith('['))
        {
            if (!h.EndsWith(']') || !System.Net.IPAddress.TryParse(h[1..^1], out var v6) || v6.AddressFamily != System.Net.Sockets.AddressFamily.InterNetworkV6)
            {
                return false;
            }

            h = h[1..^1];
        }
        else if (h.Contains(':', StringComparison.Ordinal) || Uri.CheckHostName(h) == UriHostNameType.Unknown)
        {
            return false;
        }

        if (p.Length > 5 || !p.All(char.IsAsciiDigit) || !int.TryParse(p, NumberStyles.None, CultureInfo.InvariantCulture, out port) || port is < 1 or > 65535)
        {
            return false;
        }

        host = h;
        return true;
    }

    private sealed class Builder(string? source)
    {
        private readonly List<PeerConfig> _peers = [];
        private string? _section;
        private int _sectionLine;
        private bool _sawInterface;

        // [Interface]
        private WireGuardKey? _privateKey;
        private readonly List<IpCidr> _addresses = [];
        private int? _listenPort;
        private int? _mtu;

        // current [Peer]
        private WireGuardKey? _publicKey;
        private WireGuardKey? _presharedKey;
        private List<IpCidr> _allowed = [];
        private string? _endpoint;
        private int? _keepalive;

        public void Line(string raw, int number)
        {
            string line = raw;
            int hash = line.IndexOf('#', StringComparison.Ordinal);
            if (hash >= 0)
            {
                line = line[..hash];
            }

            line = line.Trim();
            if (line.Length == 0)
            {
                return;
            }

            if (line.StartsWith('['))
            {
                if (!line.EndsWith(']'))
                {
                    throw Error("section header must be [Interface] or [Peer]", number, null);
                }

                EndSection();
                string name = line[1..^1].Trim();
                if (name.Equals("Interface", StringComparison.OrdinalIgnoreCase))
                {
                    if (_sawInterface)
                    {
                        throw new ConfigException("a second [Interface] section", source, "Interface", number);
                    }

                    _sawInterface = true;
                    _section = "Interface";
                }
                else if (name.Equals("Peer", StringComparison.OrdinalIgnoreCase))
                {
                    _section = "Peer";
                }
                else
                {
                    throw new ConfigException($"unknown section [{Printable(name)}]; expected [Interface] or [Peer]", source, null, number);
                }

                _sectionLine = number;
                return;
            }

            int eq = line.IndexOf('=', StringComparison.Ordinal);
            if (eq <= 0)
            {
                throw Error("expected 'Key = Value'", number, null);
            }

            string key = line[..eq].Trim();
            string value = line[(eq + 1)..].Trim();
            if (_section is null)
            {
                throw new ConfigException("key outside a section; start with [Interface]", source, null, number, Printable(key));
            }

            if (value.Length == 0)
            {
                throw Error("empty value", number, key);
            }

            if (_section == "Interface")
            {
                InterfaceKey(key, value, number);
            }
            else
            {
                PeerKey(key, value, number);
            }
        }

        public WireGuardConfig Build()
        {
            EndSection();
            if (!_sawInterface)
            {
                throw new ConfigException("no [Interface] section", source);
            }

            if (_privateKey is null)
            {
                throw new ConfigException("PrivateKey is required", source, "Interface", 0, "PrivateKey");
            }

            var seen = new HashSet<string>(StringComparer.Ordinal);
            foreach (var peer in _peers)
            {
                if (!seen.Add(peer.PublicKey.ToHex()))
                {
                    throw new ConfigException("two [Peer] sections have the same PublicKey", source, "Peer", 0, "PublicKey");
                }
            }

            return new WireGuardConfig(new InterfaceConfig(_privateKey, [.. _addresses], _listenPort, _mtu), [.. _peers]);
        }

        private void InterfaceKey(string key, string value, int number)
        {
            switch (key.ToLowerInvariant())
            {
                case "privatekey":
                    _privateKey = WireGuardKey.TryParseBase64(value, out var k) ? k : throw Error("not a base64 WireGuard key (44 characters)", number, key);
                    break;
                case "address":
                    _addresses.AddRange(Cidrs(value, number, key));
                    break;
                case "listenport":
                    _listenPort = Integer(value, 0, 65535, number, key);
                    break;
                case "mtu":
                    _mtu = Integer(value, 576, 65535, number, key);
                    break;
                default:
                    throw Error("unknown or unsupported key in [Interface] (Relay reads PrivateKey, Address, ListenPort, MTU)", number, key);
            }
        }

        private void PeerKey(string key, string value, int number)
        {
            switch (key.ToLowerInvariant())
            {
                case "publickey":
                    _publicKey = WireGuardKey.TryParseBase64(value, out var k) ? k : throw Error("not a base64 WireGuard key (44 characters)", number, key);
                    break;
                case "presharedkey":
                    _presharedKey = WireGuardKey.TryParseBase64(value, out var p) ? p : throw Error("not a base64 WireGuard key (44 characters)", number, key);
                    break;
                case "allowedips":
                    _allowed.AddRange(Cidrs(value, number, key));
                    break;
                case "endpoint":
                    _endpoint = TryParseEndpoint(value, out _, out _) ? value : throw Error("expected host:port or [IPv6]:port with port 1-65535", number, key);
                    break;
                case "persistentkeepalive":
                    _keepalive = value.Equals("off", StringComparison.OrdinalIgnoreCase) ? null : Integer(value, 0, 65535, number, key) switch { 0 => null, int n => n };
                    break;
                default:
                    throw Error("unknown or unsupported key in [Peer] (Relay reads PublicKey, PresharedKey, AllowedIPs, Endpoint, PersistentKeepalive)", number, key);
            }
        }

        private void EndSection()
        {
            if (_section != "Peer")
            {
                return;
            }

            if (_publicKey is null)
            {
                throw new ConfigException("PublicKey is required", source, "Peer", _sectionLine, "PublicKey");
            }

            _peers.Add(new PeerConfig(_publicKey, [.. _allowed], _endpoint, _presharedKey, _keepalive));
            _publicKey = null;
            _presharedKey = null;
            _allowed = [];
            _endpoint = null;
            _keepalive = null;
        }

        private List<IpCidr> Cidrs(string value, int number, string key)
        {
            var list = new List<IpCidr>();
            foreach (string part in value.Split(',', StringSplitOptions.TrimEntries))
            {
                if (!IpCidr.TryParse(part, out var cidr))
                {
                    throw Error($"'{Printable(part)}' is not an address/prefix", number, key);
                }

                list.Add(cidr!);
            }

            return list;
        }

        private int Integer(string value, int min, int max, int number, string key)
        {
            if (value.Length > 6 || !value.All(char.IsAsciiDigit) || !int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out int n) || n < min || n > max)
            {
                throw Error($"must be a whole number {min}-{max}", number, key);
            }

            return n;
        }

        private ConfigException Error(string message, int number, string? key) =>
            new(message, source, _section, number, key is null ? null : Printable(key));

        private static string Printable(string text)
        {
            string cut = text.Length > 40 ? text[..40] + "…" : text;
            return string.Concat(cut.Select(c => char.IsControl(c) ? '?' : c));
        }
    }
}
