using System.CommandLine;
using System.Text.Json.Nodes;
using Relay.Tunnel.Links;
using Relay.WireGuard.Keys;

namespace Relay.Cli.Commands;

/// <summary>
/// <c>relay keygen backhaul|wireguard [--out FILE] [--force]</c>: a backhaul key (base64 of 32 random bytes, the
/// core's <c>CoreSim:RelayKeys:&lt;relayId&gt;</c> and the gateway's <c>Backhaul:SharedKeyFile</c>) or a WireGuard key
/// pair (private key FILE, public key FILE.pub). Files are written 0600 (the .pub 0644); an existing one is kept
/// unless --force. Without --out the key is printed.
/// </summary>
internal static class KeygenCommand
{
    public static Command Create(Func<ParseResult, CliOutput> output)
    {
        var command = new Command("keygen", "generate a backhaul key or a WireGuard key pair");
        command.Add(Kind("backhaul", "a backhaul key: base64 of 32 random bytes (the core holds it for this relay id)", output, wireGuard: false));
        command.Add(Kind("wireguard", "a WireGuard key pair: FILE (private, 0600) and FILE.pub", output, wireGuard: true));
        return command;
    }

    private static Command Kind(string name, string description, Func<ParseResult, CliOutput> output, bool wireGuard)
    {
        var file = new Option<string?>("--out", "-o") { Description = "write the key to this file (mode 0600) instead of printing it", HelpName = "FILE" };
        var force = new Option<bool>("--force") { Description = "replace an existing file" };
        var command = new Command(name, description) { file, force };
        command.SetAction(p =>
        {
            var o = output(p);
            string? path = p.GetValue(file);
            bool replace = p.GetValue(force);
            var result = new JsonObject { ["kind"] = name };
            if (wireGuard)
            {
                var pair = WireGuardKeyPair.Generate();
                result["publicKey"] = pair.PublicKey.ToBase64();
                if (path is null)
                {
                    result["privateKey"] = pair.PrivateKey.ToBase64();
                    Write(o, result, $"private key: {pair.PrivateKey.ToBase64()}", $"public key: {pair.PublicKey.ToBase64()}");
                    return RelayCli.ExitOk;
                }

                string pub = path + ".pub";
                SecretFile.Write(path, pair.PrivateKey.ToBase64(), replace);
                SecretFile.WritePublic(pub, pair.PublicKey.ToBase64(), replace);
                result["privateKeyFile"] = Path.GetFullPath(path);
                result["publicKeyFile"] = Path.GetFullPath(pub);
                Write(o, result, $"wrote {path} (private key, 0600) and {pub}", $"public key: {pair.PublicKey.ToBase64()}");
                return RelayCli.ExitOk;
            }

            string key = LinkKey.Generate();
            if (path is null)
            {
                result["key"] = key;
                Write(o, result, key);
                return RelayCli.ExitOk;
            }

            SecretFile.Write(path, key, replace);
            result["file"] = Path.GetFullPath(path);
            Write(o, result, $"wrote {path} (backhaul key, 0600): give the core the same key for this relay's id (core-sim: <relayId>.key in CoreSim:RelayKeysDirectory)");
            return RelayCli.ExitOk;
        });
        return command;
    }

    private static void Write(CliOutput o, JsonObject json, params string[] lines)
    {
        if (o.Json)
        {
            o.WriteJson(json);
            return;
        }

        foreach (string line in lines)
        {
            o.Line(line);
        }
    }
}
