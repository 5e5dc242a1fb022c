using System.Text.Json.Nodes;
using Relay.WireGuard;
using Relay.WireGuard.Config;
using Relay.WireGuard.Keys;

namespace Relay.Cli.Commands;

/// <summary>
/// The managed tunnel of <c>relay init</c>: wg-relay.conf (0600) made from this relay's WireGuard private key, the one
/// whose public key the core is given. The key is, first found: <c>--wg-private-key-file FILE</c>; DIR/wg-relay.key
/// (<c>relay keygen wireguard --out DIR/wg-relay.key</c>); the key of an existing DIR/wg-relay.conf (an earlier init:
/// rerunning keeps the key the core already has); else a new one. The key file is written when it did not exist, and
/// its public key as KEYFILE.pub when that does not exist; a .pub that is not the key's public key is refused.
/// </summary>
internal static partial class InitCommand
{
    public const string WireGuardPrivateKeyFile = WireGuardInterface + ".key";

    /// <summary>Everything the tunnel needs, checked before init writes any file.</summary>
    private sealed record WireGuardPlan(WireGuardConfig Config, string ConfigPath, WireGuardKeyPair Keys, string KeyFile, bool WriteKey, string PublicKeyFile, bool WritePublicKey);

    private static WireGuardPlan PlanWireGuard(Settings s, string firstHost, bool force)
    {
        if (!WireGuardKey.TryParseBase64(s.WgPeerPublicKey, out var peerKey))
        {
            throw new CliError("--wg-peer-public-key is not a WireGuard key (44 characters of base64)");
        }

        if (s.WgPeerEndpoint is null || !TryHostPort(s.WgPeerEndpoint, out _))
        {
            throw new CliError("--wg-peer-endpoint host:port is required with --wg-peer-public-key");
        }

        if (!IpCidr.TryParse(s.WgAddress, out var address))
        {
            throw new CliError($"--wg-address '{s.WgAddress}' is not an address/prefix");
        }

        string allowedText = s.WgAllowedIps ?? $"{firstHost}/32";
        if (!IpCidr.TryParse(allowedText, out var allowed))
        {
            throw new CliError($"--wg-allowed-ips '{allowedText}' is not an address/prefix (set it when the core endpoint is a name)");
        }

        string path = Path.Combine(s.Dir, WireGuardInterface + ".conf");
        if (File.Exists(path) && !force)
        {
            throw new CliError($"{path} exists; use --force to replace it");
        }

        var (keys, keyFile, writeKey) = RelayKey(s, path);
        string publicKeyFile = keyFile + ".pub";
        bool writePublicKey = !File.Exists(publicKeyFile);
        if (!writePublicKey && (!WireGuardKey.TryParseBase64(File.ReadAllText(publicKeyFile).Trim(), out var written) || !written!.Equals(keys.PublicKey)))
        {
            throw new CliError($"{publicKeyFile} is not the public key of {keyFile}; remove it and rerun (init writes it from the key)");
        }

        var config = new WireGuardConfig(new InterfaceConfig(keys.PrivateKey, [address!]), [new PeerConfig(peerKey!, [allowed!], s.WgPeerEndpoint, PersistentKeepalive: 25)]);
        return new WireGuardPlan(config, path, keys, keyFile, writeKey, publicKeyFile, writePublicKey);
    }

    /// <summary>This relay's WireGuard key pair, where it is kept, and whether init writes that file.</summary>
    private static (WireGuardKeyPair Keys, string File, bool Write) RelayKey(Settings s, string configPath)
    {
        try
        {
            if (s.WgPrivateKeyFile is { } named)
            {
                return File.Exists(named)
                    ? (WireGuardKeyPair.FromPrivateKey(WireGuardKeyFile.Read(named)), named, false)
                    : throw new CliError($"--wg-private-key-file {named} does not exist (make it with relay keygen wireguard --out {named})");
            }

            string keyFile = Path.Combine(s.Dir, WireGuardPrivateKeyFile);
            if (File.Exists(keyFile))
            {
                return (WireGuardKeyPair.FromPrivateKey(WireGuardKeyFile.Read(keyFile)), keyFile, false);
            }

            if (File.Exists(configPath))
            {
                return (WireGuardKeyPair.FromPrivateKey(WgQuickConfig.Load(configPath).Interface.PrivateKey), keyFile, true);
            }

            return (WireGuardKeyPair.Generate(), keyFile, true);
        }
        catch (ConfigException e)
        {
            throw new CliError(e.Message.ReplaceLineEndings(" "));
        }
    }

    private static void WriteWireGuard(WireGuardPlan plan, JsonArray written)
    {
        if (plan.WriteKey)
        {
            SecretFile.Write(plan.KeyFile, plan.Keys.PrivateKey.ToBase64(), force: false);
            written.Add((JsonNode?)plan.KeyFile);
        }

        if (plan.WritePublicKey)
        {
            SecretFile.WritePublic(plan.PublicKeyFile, plan.Keys.PublicKey.ToBase64(), force: false);
            written.Add((JsonNode?)plan.PublicKeyFile);
        }

        WgQuickConfig.Save(plan.ConfigPath, plan.Config);
        written.Add((JsonNode?)plan.ConfigPath);
    }
}
