using Relay.Testing;
using Relay.WireGuard.Config;
using Relay.WireGuard.Keys;

namespace Relay.Cli.Tests;

/// <summary>
/// <c>relay init</c> with a managed tunnel, as the README runs it: the relay's WireGuard key pair is the one the
/// operator gives the core, so wg-relay.conf must hold the private key whose public key init names.
/// </summary>
public class InitWireGuardTests
{
    private static readonly string s_corePublic = WireGuardKeyPair.Generate().PublicKey.ToBase64();

    [Test]
    public async Task Init_AfterKeygenWireGuard_InTheFolder_UsesThatKey_AndNamesItsPublicKeyFile()
    {
        string dir = TempFolders.Create("relay-init-wg-");
        string key = Path.Combine(dir, "wg-relay.key");
        var keygen = await Cli.RunAsync("keygen", "wireguard", "--out", key, "--json");
        Assert.That(keygen.Code, Is.EqualTo(0), keygen.ToString());
        string relayPublic = keygen.Json["publicKey"]!.GetValue<string>();

        var init = await Cli.RunAsync(Init(dir));

        Assert.That(init.Code, Is.EqualTo(0), init.ToString());
        var wg = WgQuickConfig.Load(Path.Combine(dir, "wg-relay.conf"));
        Assert.That(WireGuardKeyPair.DerivePublicKey(wg.Interface.PrivateKey).ToBase64(), Is.EqualTo(relayPublic), "wg-relay.conf holds keygen's private key");
        Assert.That((await File.ReadAllTextAsync(key + ".pub")).Trim(), Is.EqualTo(relayPublic), "keygen's .pub is still the relay's public key");
        Assert.That(Directory.GetFiles(dir, "*.pub").Select(Path.GetFileName), Is.EqualTo(new[] { "wg-relay.key.pub" }), "one public key in the folder");
        Assert.That(init.OutputLines, Has.Some.Contains($"PublicKey = {relayPublic}").And.Some.Contains(key + ".pub"), "the step names the key and its file");
        Assert.That(init.OutputLines, Has.None.EqualTo($"wrote {key}"), "an existing key is not written again");
    }

    [Test]
    public async Task Init_WithWgPrivateKeyFile_UsesThatKey_Json()
    {
        string keys = TempFolders.Create("relay-init-wg-keys-");
        string dir = TempFolders.Create("relay-init-wg-");
        string key = Path.Combine(keys, "relay.key");
        var keygen = await Cli.RunAsync("keygen", "wireguard", "--out", key, "--json");
        string relayPublic = keygen.Json["publicKey"]!.GetValue<string>();

        var init = await Cli.RunAsync([.. Init(dir), "--wg-private-key-file", key, "--json"]);

        Assert.That(init.Code, Is.EqualTo(0), init.ToString());
        Assert.That(init.Json["wireGuardPublicKey"]!.GetValue<string>(), Is.EqualTo(relayPublic));
        Assert.That(init.Json["wireGuardPrivateKeyFile"]!.GetValue<string>(), Is.EqualTo(key));
        Assert.That(init.Json["wireGuardPublicKeyFile"]!.GetValue<string>(), Is.EqualTo(key + ".pub"));
        var wg = WgQuickConfig.Load(Path.Combine(dir, "wg-relay.conf"));
        Assert.That(WireGuardKeyPair.DerivePublicKey(wg.Interface.PrivateKey).ToBase64(), Is.EqualTo(relayPublic));
        Assert.That(File.Exists(Path.Combine(dir, "wg-relay.key")), Is.False, "no second key");
    }

    [Test]
    public async Task Init_WithoutAKey_WritesWgRelayKey_AndARerunKeepsIt()
    {
        string dir = TempFolders.Create("relay-init-wg-");

        var first = await Cli.RunAsync([.. Init(dir), "--json"]);
        var again = await Cli.RunAsync([.. Init(dir), "--force", "--json"]);

        Assert.That(first.Code, Is.EqualTo(0), first.ToString());
        Assert.That(again.Code, Is.EqualTo(0), again.ToString());
        string key = Path.Combine(dir, "wg-relay.key");
        string relayPublic = first.Json["wireGuardPublicKey"]!.GetValue<string>();
        Assert.That(WireGuardKeyPair.DerivePublicKey(WireGuardKeyFile.Read(key)).ToBase64(), Is.EqualTo(relayPublic), "the key is in wg-relay.key, 0600");
        Assert.That((await File.ReadAllTextAsync(key + ".pub")).Trim(), Is.EqualTo(relayPublic));
        Assert.That(again.Json["wireGuardPublicKey"]!.GetValue<string>(), Is.EqualTo(relayPublic), "init --force keeps the key the core already has");
        var wg = WgQuickConfig.Load(Path.Combine(dir, "wg-relay.conf"));
        Assert.That(WireGuardKeyPair.DerivePublicKey(wg.Interface.PrivateKey).ToBase64(), Is.EqualTo(relayPublic));
    }

    [Test]
    public async Task Init_AfterAnInitThatKeptTheKeyOnlyInWgRelayConf_KeepsThatKey()
    {
        string dir = TempFolders.Create("relay-init-wg-");
        var first = await Cli.RunAsync([.. Init(dir), "--json"]);
        string relayPublic = first.Json["wireGuardPublicKey"]!.GetValue<string>();
        File.Delete(Path.Combine(dir, "wg-relay.key")); // as an init before wg-relay.key left the folder
        File.Delete(Path.Combine(dir, "wg-relay.key.pub"));

        var again = await Cli.RunAsync([.. Init(dir), "--force", "--json"]);

        Assert.That(again.Code, Is.EqualTo(0), again.ToString());
        Assert.That(again.Json["wireGuardPublicKey"]!.GetValue<string>(), Is.EqualTo(relayPublic), "the key the core already has");
        Assert.That((await File.ReadAllTextAsync(Path.Combine(dir, "wg-relay.key.pub"))).Trim(), Is.EqualTo(relayPublic));
        Assert.That(WireGuardKeyPair.DerivePublicKey(WireGuardKeyFile.Read(Path.Combine(dir, "wg-relay.key"))).ToBase64(), Is.EqualTo(relayPublic));
    }

    [Test]
    public async Task Init_KeyWhosePubIsAnotherKey_IsRefused_OneLine_NothingWritten()
    {
        string dir = TempFolders.Create("relay-init-wg-");
        string key = Path.Combine(dir, "wg-relay.key");
        Assert.That((await Cli.RunAsync("keygen", "wireguard", "--out", key)).Code, Is.EqualTo(0));
        await File.WriteAllTextAsync(key + ".pub", WireGuardKeyPair.Generate().PublicKey.ToBase64() + "\n");

        var init = await Cli.RunAsync(Init(dir));

        Assert.That(init.Code, Is.EqualTo(2), init.ToString());
        Assert.That(init.ErrorLines, Has.Length.EqualTo(1).And.Some.StartsWith($"relay: {key}.pub is not the public key of {key}"));
        Assert.That(File.Exists(Path.Combine(dir, "wg-relay.conf")), Is.False);
        Assert.That(File.Exists(Path.Combine(dir, "gateway.json")), Is.False);
    }

    [Test]
    public async Task Init_KeyOthersMayRead_IsRefused_WithTheChmod()
    {
        if (OperatingSystem.IsWindows())
        {
            Assert.Ignore("file modes are not checked on Windows");
            return;
        }

        string dir = TempFolders.Create("relay-init-wg-");
        string key = Path.Combine(dir, "wg-relay.key");
        Assert.That((await Cli.RunAsync("keygen", "wireguard", "--out", key)).Code, Is.EqualTo(0));
        File.SetUnixFileMode(key, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.OtherRead);

        var init = await Cli.RunAsync(Init(dir));

        Assert.That(init.Code, Is.EqualTo(2), init.ToString());
        Assert.That(init.ErrorLines, Has.Length.EqualTo(1).And.Some.StartsWith("relay: ").And.Some.Contains("chmod 600"));
    }

    [Test]
    public async Task Init_WithATunnel_TellsTheOperatorToPutTheRelaysTunnelAddressInTheCoresRelayNetworks()
    {
        // Without it a relay new to the core (or every relay after a core restart) can be kept out of the backhaul by a
        // handshake flood from elsewhere: core-sim/README.md, CoreSim:RelayNetworks.
        string dir = TempFolders.Create("relay-init-wg-");

        var init = await Cli.RunAsync([.. Init(dir), "--wg-address", "10.90.0.7/24", "--json"]);

        Assert.That(init.Code, Is.EqualTo(0), init.ToString());
        var next = init.Json["next"]!.AsArray().Select(step => step!.GetValue<string>()).ToList();
        Assert.That(next, Has.One.Contains("CoreSim__RelayNetworks__0=10.90.0.7 "), "the relay's own tunnel address, as one address (its /24 is the interface's, not the relay's)");
    }

    [Test]
    public async Task Init_WithATunnel_TheCoresPeerForThisRelay_AllowsOnlyTheRelaysOwnAddress()
    {
        // The core's WireGuard peer for this relay routes AllowedIPs to it: the relay's /24 there would send the whole
        // tunnel network to this one relay (and, as WireGuard keeps each address on one peer, take it from the others).
        string dir = TempFolders.Create("relay-init-wg-");

        var init = await Cli.RunAsync([.. Init(dir), "--wg-address", "10.90.0.7/24", "--json"]);

        Assert.That(init.Code, Is.EqualTo(0), init.ToString());
        var next = init.Json["next"]!.AsArray().Select(step => step!.GetValue<string>()).ToList();
        Assert.That(next, Has.One.Contains("AllowedIPs = 10.90.0.7/32"), string.Join("\n", next));
    }

    [Test]
    public async Task Init_TellsHowToGiveTheCoreTheRelaysKey_InAFormARelayIdWithADashFits()
    {
        // CoreSim__RelayKeys__sg-1=… is no environment assignment a shell or systemd takes (the '-'): a file named by the id.
        string dir = TempFolders.Create("relay-init-wg-");

        var init = await Cli.RunAsync([.. Init(dir), "--wg-address", "10.90.0.7/24", "--json"]);

        Assert.That(init.Code, Is.EqualTo(0), init.ToString());
        var next = init.Json["next"]!.AsArray().Select(step => step!.GetValue<string>()).ToList();
        Assert.That(next, Has.One.Contains("CoreSim:RelayKeysDirectory").And.Contains("sg-1.key"), string.Join("\n", next));
        Assert.That(next, Has.None.Contains("CoreSim__RelayKeys__sg-1"));
    }

    private static string[] Init(string dir) =>
        ["init", "--dir", dir, "--region", "sg", "--relay-id", "sg-1", "--core", "10.90.0.1:7000", "--wg-peer-public-key", s_corePublic, "--wg-peer-endpoint", "core.example:51820"];
}
