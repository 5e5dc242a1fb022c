using Relay.Testing;
using Relay.WireGuard.Keys;

namespace Relay.Cli.Tests;

public class KeygenTests
{
    private const UnixFileMode OwnerOnly = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    [Test]
    public async Task Backhaul_ToFile_Is32RandomBytesInBase64_Mode0600()
    {
        string path = Path.Combine(TempFolders.Create("relay-keygen-"), "backhaul.key");

        var run = await Cli.RunAsync("keygen", "backhaul", "--out", path);

        Assert.That(run.Code, Is.EqualTo(0), run.ToString());
        byte[] key = Convert.FromBase64String(File.ReadAllText(path).Trim());
        Assert.That(key, Has.Length.EqualTo(32));
        Assert.That(key, Is.Not.All.EqualTo(0));
        Assert.That(Relay.Tunnel.Links.LinkKey.TryParse(File.ReadAllText(path).Trim(), development: false, out _, out _), Is.True, "the gateway takes it");
        if (!OperatingSystem.IsWindows())
        {
            Assert.That(File.GetUnixFileMode(path), Is.EqualTo(OwnerOnly));
        }
    }

    [Test]
    public async Task Backhaul_Printed_Json_HasTheKey_AndTwoRunsDiffer()
    {
        var first = await Cli.RunAsync("keygen", "backhaul", "--json");
        var second = await Cli.RunAsync("keygen", "backhaul");

        Assert.That(first.Code, Is.EqualTo(0));
        Assert.That(first.Json["kind"]!.GetValue<string>(), Is.EqualTo("backhaul"));
        string key = first.Json["key"]!.GetValue<string>();
        Assert.That(Convert.FromBase64String(key), Has.Length.EqualTo(32));
        Assert.That(second.Output.Trim(), Is.Not.EqualTo(key));
    }

    [Test]
    public async Task WireGuard_ToFile_WritesAPairTheWireGuardCodeReads_PrivateKey0600()
    {
        string path = Path.Combine(TempFolders.Create("relay-keygen-"), "wg.key");

        var run = await Cli.RunAsync("keygen", "wireguard", "--out", path, "--json");

        Assert.That(run.Code, Is.EqualTo(0), run.ToString());
        var privateKey = WireGuardKeyFile.Read(path); // refuses a file others may read
        var publicKey = WireGuardKey.ParseBase64(File.ReadAllText(path + ".pub").Trim());
        Assert.That(WireGuardKeyPair.DerivePublicKey(privateKey), Is.EqualTo(publicKey));
        Assert.That(run.Json["publicKey"]!.GetValue<string>(), Is.EqualTo(publicKey.ToBase64()));
        Assert.That(run.Json["privateKeyFile"]!.GetValue<string>(), Is.EqualTo(path));
        Assert.That(run.Json.ContainsKey("privateKey"), Is.False, "the private key stays in its file");
        if (!OperatingSystem.IsWindows())
        {
            Assert.That(File.GetUnixFileMode(path), Is.EqualTo(OwnerOnly));
        }
    }

    [TestCase("backhaul")]
    [TestCase("wireguard")]
    public async Task ExistingFile_IsRefusedWithOneLine_UnlessForce(string kind)
    {
        string path = Path.Combine(TempFolders.Create("relay-keygen-"), "key");
        await File.WriteAllTextAsync(path, "keep me\n");

        var refused = await Cli.RunAsync("keygen", kind, "--out", path);

        Assert.That(refused.Code, Is.EqualTo(2));
        Assert.That(refused.ErrorLines, Is.EqualTo(new[] { $"relay: {path} exists; use --force to replace it" }));
        Assert.That(await File.ReadAllTextAsync(path), Is.EqualTo("keep me\n"));

        var forced = await Cli.RunAsync("keygen", kind, "--out", path, "--force");

        Assert.That(forced.Code, Is.EqualTo(0), forced.ToString());
        Assert.That(await File.ReadAllTextAsync(path), Is.Not.EqualTo("keep me\n"));
        if (!OperatingSystem.IsWindows())
        {
            Assert.That(File.GetUnixFileMode(path), Is.EqualTo(OwnerOnly));
        }
    }

    [Test]
    public async Task BuiltBinary_RunsAsAProcess()
    {
        var run = await Cli.RunProcessAsync("keygen", "backhaul", "--json");

        Assert.That(run.Code, Is.EqualTo(0), run.ToString());
        Assert.That(Convert.FromBase64String(run.Json["key"]!.GetValue<string>()), Has.Length.EqualTo(32));
    }
}
