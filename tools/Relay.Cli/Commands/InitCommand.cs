using System.CommandLine;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Relay.Gateway;
using Relay.Tunnel.Links;

namespace Relay.Cli.Commands;

/// <summary>
/// <c>relay init --region R --relay-id ID --core HOST:PORT …</c>: a complete, commented gateway configuration for a
/// region in DIR (default /etc/relay): gateway.json (no secrets in it), backhaul.key and admin.key (0600, kept when
/// they exist), and with <c>--wg-peer-public-key</c> a wg-quick file for the tunnel (0600) made from this relay's
/// WireGuard key (InitCommand.WireGuard.cs: keygen's DIR/wg-relay.key when it exists). Nothing is written until every
/// argument and existing key has been checked. <c>relay check DIR/gateway.json</c> passes on what it writes.
/// </summary>
internal static partial class InitCommand
{
    public const string ConfigFile = "gateway.json";
    public const string BackhaulKeyFile = "backhaul.key";
    public const string AdminKeyFile = "admin.key";
    public const string WireGuardInterface = "wg-relay";

    public static Command Create(Func<ParseResult, CliOutput> output)
    {
        var dir = new Option<string>("--dir") { Description = "folder to write into", HelpName = "DIR", DefaultValueFactory = _ => Path.GetDirectoryName(GatewayConfiguration.SystemConfigPath)! };
        var region = new Option<string>("--region") { Description = "this relay's region, e.g. sg", Required = true };
        var relayId = new Option<string>("--relay-id") { Description = "this relay's id, e.g. sg-1 (the core holds its key under it)", Required = true };
        var core = new Option<string[]>("--core") { Description = "a core backhaul endpoint host:port (repeat for more), e.g. 10.90.0.1:7000", Required = true, AllowMultipleArgumentsPerToken = false, HelpName = "HOST:PORT" };
        var coreUrl = new Option<string?>("--core-url") { Description = "the core's HTTP address for its token keys (JWKS); default http://<first core host>:7080", HelpName = "URL" };
        var cert = new Option<string?>("--cert") { Description = "TLS certificate for wss (PEM, with --cert-key; or PFX)", HelpName = "FILE" };
        var certKey = new Option<string?>("--cert-key") { Description = "PEM private key of --cert", HelpName = "FILE" };
        var publicUrl = new Option<string?>("--public-url") { Description = "the wss:// URL clients reach this relay at (negotiate)", HelpName = "URL" };
        var wgPeer = new Option<string?>("--wg-peer-public-key") { Description = "the core's WireGuard public key: writes a managed tunnel (wg-relay.conf, 0600)", HelpName = "KEY" };
        var wgKey = new Option<string?>("--wg-private-key-file") { Description = "this relay's WireGuard private key (relay keygen wireguard); default DIR/wg-relay.key, written when it does not exist", HelpName = "FILE" };
        var wgEndpoint = new Option<string?>("--wg-peer-endpoint") { Description = "the core's WireGuard endpoint host:port", HelpName = "HOST:PORT" };
        var wgAddress = new Option<string>("--wg-address") { Description = "this relay's tunnel address", HelpName = "CIDR", DefaultValueFactory = _ => "10.90.0.2/32" };
        var wgAllowed = new Option<string?>("--wg-allowed-ips") { Description = "addresses reached through the tunnel; default the first core host/32", HelpName = "CIDR" };
        var force = new Option<bool>("--force") { Description = "replace an existing gateway.json (key files are always kept)" };
        var command = new Command("init", "write a complete, commented gateway configuration for a region")
        {
            dir, region, relayId, core, coreUrl, cert, certKey, publicUrl, wgPeer, wgKey, wgEndpoint, wgAddress, wgAllowed, force,
        };
        command.SetAction(p =>
        {
            var o = output(p);
            var s = new Settings(
                Path.GetFullPath(p.GetRequiredValue(dir)),
                Required(p.GetValue(region), "--region"),
                Required(p.GetValue(relayId), "--relay-id"),
                p.GetValue(core) ?? [],
                p.GetValue(coreUrl),
                p.GetValue(cert) is { } c ? Path.GetFullPath(c) : null,
                p.GetValue(certKey) is { } k ? Path.GetFullPath(k) : null,
                p.GetValue(publicUrl),
                p.GetValue(wgPeer),
                p.GetValue(wgKey) is { } f ? Path.GetFullPath(f) : null,
                p.GetValue(wgEndpoint),
                p.GetValue(wgAddress)!,
                p.GetValue(wgAllowed));
            return Run(o, s, p.GetValue(force));
        });
        return command;
    }

    private static int Run(CliOutput o, Settings s, bool force)
    {
        foreach (string endpoint in s.Cores)
        {
            if (!TryHostPort(endpoint, out _))
            {
                throw new CliError($"--core '{endpoint}' is not host:port");
            }
        }

        if (s.Cores.Length == 0)
        {
            throw new CliError("--core is required: the core's backhaul endpoint host:port");
        }

        TryHostPort(s.Cores[0], out string firstHost);
        string coreUrl = s.CoreUrl ?? $"http://{firstHost}:7080";
        if (!Uri.TryCreate(coreUrl, UriKind.Absolute, out var coreUri) || coreUri.Scheme is not ("http" or "https"))
        {
            throw new CliError($"--core-url '{coreUrl}' is not an http(s) URL");
        }

        if (!Directory.Exists(s.Dir))
        {
            throw new CliError($"{s.Dir} does not exist (create it, e.g. install -d -m 0750 {s.Dir})");
        }

        string config = Path.Combine(s.Dir, ConfigFile);
        if (File.Exists(config) && !force)
        {
            throw new CliError($"{config} exists; use --force to replace it");
        }

        if (s.WgPrivateKeyFile is not null && s.WgPeerPublicKey is null)
        {
            throw new CliError("--wg-private-key-file needs --wg-peer-public-key (the managed tunnel it is for)");
        }

        var wg = s.WgPeerPublicKey is null ? null : PlanWireGuard(s, firstHost, force);
        var written = new JsonArray();
        string backhaulKey = Path.Combine(s.Dir, BackhaulKeyFile);
        string adminKey = Path.Combine(s.Dir, AdminKeyFile);
        KeepOrWrite(backhaulKey, LinkKey.Generate, written);
        KeepOrWrite(adminKey, () => Convert.ToBase64String(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32)), written);
        if (wg is not null)
        {
            WriteWireGuard(wg, written);
        }

        SecretFile.WritePublic(config, Render(s, coreUri, backhaulKey, adminKey, wg?.ConfigPath), force: true);
        written.Add((JsonNode?)config);

        string[] next =
        [
            $"give the core this relay's key: core-sim reads it as {s.RelayId}.key (0600) in its CoreSim:RelayKeysDirectory: cp {backhaulKey} <that folder>/{s.RelayId}.key",
            .. wg is null ? Array.Empty<string>() : [$"add this relay as a WireGuard peer on the core: PublicKey = {wg.Keys.PublicKey.ToBase64()} (in {wg.PublicKeyFile}), AllowedIPs = {HostRoute(wg.Config.Interface.Addresses[0].Address)}"],
            .. wg is null ? Array.Empty<string>() : [RelayNetworksStep(wg.Config.Interface.Addresses[0].Address)],
            $"relay check {config}",
            "start the gateway: its service, or Relay.Gateway --config " + config,
        ];
        if (o.Json)
        {
            o.WriteJson(new JsonObject
            {
                ["config"] = config,
                ["backhaulKeyFile"] = backhaulKey,
                ["adminKeyFile"] = adminKey,
                ["wireGuardConfig"] = wg?.ConfigPath,
                ["wireGuardPrivateKeyFile"] = wg?.KeyFile,
                ["wireGuardPublicKeyFile"] = wg?.PublicKeyFile,
                ["wireGuardPublicKey"] = wg?.Keys.PublicKey.ToBase64(),
                ["written"] = written,
                ["next"] = new JsonArray([.. next.Select(n => (JsonNode?)n)]),
            });
            return RelayCli.ExitOk;
        }

        foreach (var file in written)
        {
            o.Line($"wrote {file}");
        }

        o.Line("next:");
        foreach (string step in next)
        {
            o.Line("  " + step);
        }

        return RelayCli.ExitOk;
    }

    /// <summary>
    /// The core keeps backhaul handshake slots for sources in its CoreSim:RelayNetworks, so that a handshake flood from
    /// elsewhere cannot keep out a relay it has not seen yet (or any, after it restarts): this relay's tunnel address.
    /// </summary>
    /// <summary>The relay's own tunnel address as the core's peer route (/32, /128): --wg-address's prefix is the
    /// interface's network; as AllowedIPs on the core it would send the whole tunnel network to this one relay.</summary>
    private static string HostRoute(System.Net.IPAddress address) =>
        $"{address}/{(address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 ? 128 : 32)}";

    private static string RelayNetworksStep(System.Net.IPAddress tunnelAddress) =>
        $"let the core keep backhaul handshake slots for this relay during a flood: CoreSim__RelayNetworks__0={tunnelAddress} (its tunnel address; the next free index, or the tunnel's whole network, when there are more relays)";

    private static void KeepOrWrite(string path, Func<string> secret, JsonArray written)
    {
        if (File.Exists(path))
        {
            return; // a key is never replaced by init: relay keygen --force rotates it
        }

        SecretFile.Write(path, secret(), force: false);
        written.Add((JsonNode?)path);
    }

    private static string Render(Settings s, Uri coreUrl, string backhaulKey, string adminKey, string? wgConfig)
    {
        static string J(string value) => JsonSerializer.Serialize(value);
        var b = new StringBuilder();
        b.AppendLine($"// Relay gateway configuration for relay {s.RelayId} in region {s.Region}, written by `relay init` (issue 19).");
        b.AppendLine("// Read from /etc/relay/gateway.json (or --config FILE), above appsettings.json beside the binary and below");
        b.AppendLine("// Gateway__X environment variables and --Gateway:X=… arguments. Every key: docs/gateway-options.md.");
        b.AppendLine($"// Check it offline: relay check {Path.Combine(s.Dir, ConfigFile)}");
        b.AppendLine("{");
        b.AppendLine("  \"Gateway\": {");
        b.AppendLine("    // Clients: ws://HOST:HttpPort/ws; with a certificate also wss://HOST:HttpsPort/ws (HTTP/1.1 and HTTP/2).");
        b.AppendLine("    \"BindAddress\": \"0.0.0.0\",");
        b.AppendLine("    \"HttpPort\": 8080,");
        b.AppendLine("    \"HttpsPort\": 8443,");
        b.AppendLine("    // TLS: a PEM certificate chain and its key (re-read when the file changes), or a PFX with CertificatePasswordFile.");
        if (s.Cert is not null)
        {
            b.AppendLine($"    \"CertificatePath\": {J(s.Cert)},");
            if (s.CertKey is not null)
            {
                b.AppendLine($"    \"CertificateKeyPath\": {J(s.CertKey)},");
            }
        }
        else
        {
            b.AppendLine($"    // \"CertificatePath\": {J(Path.Combine(s.Dir, "tls", "fullchain.pem"))},");
            b.AppendLine($"    // \"CertificateKeyPath\": {J(Path.Combine(s.Dir, "tls", "privkey.pem"))},");
        }

        b.AppendLine("    // Browser origins allowed to open sessions (empty: any); apps send no Origin and are always allowed.");
        b.AppendLine("    // \"AllowedOrigins\": [ \"https://chat.example\" ],");
        b.AppendLine("    // Client tokens: the core's signing keys from its JWKS, refreshed (a rotated key is fetched at once).");
        b.AppendLine($"    \"JwksUrl\": {J(new Uri(coreUrl, "/.well-known/jwks.json").ToString())},");
        b.AppendLine("    // The admin API (POST /admin/drain, /admin/undrain; relay drain URL): its bearer key, from a 0600 file.");
        b.AppendLine($"    \"AdminKeyFile\": {J(adminKey)},");
        b.AppendLine("    // Load balancers sending PROXY v2 (HAProxy send-proxy-v2), so limits count each user: addresses or CIDRs.");
        b.AppendLine("    // \"TrustedProxies\": [ \"10.0.0.0/8\" ],");
        b.AppendLine("    \"Negotiate\": {");
        b.AppendLine("      // The wss:// URL clients reach this relay at, reported to the core for negotiate.");
        b.AppendLine(s.PublicUrl is null ? $"      // \"PublicUrl\": \"wss://{s.RelayId}.relay.example/ws\"" : $"      \"PublicUrl\": {J(s.PublicUrl)}");
        b.AppendLine("    },");
        b.AppendLine("    \"Backhaul\": {");
        b.AppendLine("      // The core's backhaul endpoints (host:port), reached through the WireGuard tunnel.");
        b.AppendLine($"      \"Endpoints\": [ {string.Join(", ", s.Cores.Select(J))} ],");
        b.AppendLine("      // This relay's identity; the core holds its key under this id (core-sim: CoreSim:RelayKeys:<RelayId>).");
        b.AppendLine($"      \"RelayId\": {J(s.RelayId)},");
        b.AppendLine($"      \"Region\": {J(s.Region)},");
        b.AppendLine("      // This relay's backhaul key (base64 of 32 random bytes), from a 0600 file (relay keygen backhaul).");
        b.AppendLine($"      \"SharedKeyFile\": {J(backhaulKey)}");
        b.AppendLine("    },");
        b.AppendLine("    \"Health\": {");
        b.AppendLine("      // HAProxy agent-check port (up ready N% / drain / down); -1 turns it off.");
        b.AppendLine("      \"AgentPort\": 8081");
        b.AppendLine("    },");
        b.AppendLine("    \"WireGuard\": {");
        if (wgConfig is not null)
        {
            b.AppendLine("      // Managed: the gateway brings the tunnel up from ConfigPath (wg-quick format, 0600) and removes it on exit;");
            b.AppendLine("      // wireguard-go on Linux, WireGuardNT on Windows (Backend Auto).");
            b.AppendLine("      \"Mode\": \"Managed\",");
            b.AppendLine($"      \"Interface\": {J(WireGuardInterface)},");
            b.AppendLine($"      \"ConfigPath\": {J(wgConfig)}");
        }
        else
        {
            b.AppendLine("      // None: the backhaul runs over the network as it is. External: you run the tunnel (wg-quick, the WireGuard");
            b.AppendLine("      // service) and the gateway watches it. Managed: rerun relay init with --wg-peer-public-key.");
            b.AppendLine("      \"Mode\": \"None\"");
        }

        b.AppendLine("    }");
        b.AppendLine("  }");
        b.AppendLine("}");
        return b.ToString();
    }

    private static string Required(string? value, string option) =>
        string.IsNullOrWhiteSpace(value) ? throw new CliError($"{option} is required") : value.Trim();

    private static bool TryHostPort(string text, out string host)
    {
        host = string.Empty;
        int colon = text.LastIndexOf(':');
        if (colon <= 0 || !ushort.TryParse(text.AsSpan(colon + 1), out ushort port) || port == 0)
        {
            return false;
        }

        host = text[..colon].Trim('[', ']');
        return host.Length > 0;
    }

    private sealed record Settings(
        string Dir,
        string Region,
        string RelayId,
        string[] Cores,
        string? CoreUrl,
        string? Cert,
        string? CertKey,
        string? PublicUrl,
        string? WgPeerPublicKey,
        string? WgPrivateKeyFile,
        string? WgPeerEndpoint,
        string WgAddress,
        string? WgAllowedIps);
}
