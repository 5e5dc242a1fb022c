using Relay.Testing;
using Relay.WireGuard;
using Relay.WireGuard.Keys;

namespace Relay.WireGuard.Tests.Keys;

public class WireGuardKeyTests
{
    [Test]
    public void DerivePublicKey_Rfc7748Vector_MatchesX25519()
    {
        // RFC 7748 section 6.1: Alice's private key and public key.
        var privateKey = WireGuardKey.FromBytes(Convert.FromHexString("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a"));
        Assert.That(WireGuardKeyPair.DerivePublicKey(privateKey).ToHex(), Is.EqualTo("8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a"));
    }

    [Test]
    public void Generate_TwoPairs_DifferAndDeriveConsistently()
    {
        var a = WireGuardKeyPair.Generate();
        var b = WireGuardKeyPair.Generate();
        Assert.That(a.PrivateKey, Is.Not.EqualTo(b.PrivateKey));
        Assert.That(WireGuardKeyPair.FromPrivateKey(a.PrivateKey).PublicKey, Is.EqualTo(a.PublicKey));
    }

    [Test]
    public void ToString_NeverShowsTheKey()
    {
        var pair = WireGuardKeyPair.Generate();
        string text = $"{pair.PrivateKey} {new Relay.WireGuard.Config.InterfaceConfig(pair.PrivateKey, [])}";
        Assert.That(text, Does.Not.Contain(pair.PrivateKey.ToBase64()).And.Not.Contain(pair.PrivateKey.ToHex()));
        Assert.That(text, Does.Contain("redacted"));
    }

    [Test]
    public void Base64AndHex_RoundTrip()
    {
        var key = WireGuardKey.Random();
        Assert.That(WireGuardKey.ParseBase64(key.ToBase64()), Is.EqualTo(key));
        Assert.That(WireGuardKey.TryParseHex(key.ToHex(), out var hex) && hex!.Equals(key), Is.True);
        Assert.That(WireGuardKey.TryParseBase64("too short", out _), Is.False);
        Assert.That(WireGuardKey.TryParseHex(new string('z', 64), out _), Is.False);
    }

    [Test]
    [System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
    public void KeyFile_WrittenOwnerOnly_AndReadBack() => WithKeyFile((path, key) =>
    {
        Assert.That(File.GetUnixFileMode(path), Is.EqualTo(UnixFileMode.UserRead | UnixFileMode.UserWrite));
        Assert.That(WireGuardKeyFile.Read(path), Is.EqualTo(key));

        File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.OtherRead);
        var error = Assert.Throws<ConfigException>(() => WireGuardKeyFile.Read(path));
        Assert.That(error!.Message, Does.Contain("chmod 600").And.Not.Contain(key.ToBase64()));
    });

    /// <summary>
    /// The package's service runs as user relay and reads root-owned secrets through group relay (0640), as the
    /// gateway's other secret files (docs/gateway-options.md). A review found the WireGuard files refused at 0640:
    /// `sudo relay init` writes wg-relay.conf and wg-relay.key 0600 root, so the service could read them only if they
    /// were given to it, with no step in the README saying so. Others may still not read them (as wg-quick).
    /// </summary>
    [Test]
    [System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
    public void KeyFile_ReadableByItsGroup_IsRead_AsThePackagedServiceNeeds() => WithKeyFile((path, key) =>
    {
        File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead);
        Assert.That(WireGuardKeyFile.Read(path), Is.EqualTo(key), "0640: the service's group reads it");

        File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.GroupWrite);
        Assert.That(Assert.Throws<ConfigException>(() => WireGuardKeyFile.Read(path))!.Message, Does.Contain("chmod 640"), "0660: the group may not write it");
    });

    /// <summary>A fresh private key written with <see cref="WireGuardKeyFile.Write"/> to a temporary folder (Unix only: file modes).</summary>
    private static void WithKeyFile(Action<string, WireGuardKey> test)
    {
        if (OperatingSystem.IsWindows())
        {
            Assert.Ignore("file modes are Unix");
            return;
        }

        string dir = TempFolders.Create("relay-wg-key-");
        try
        {
            string path = Path.Combine(dir, "private.key");
            var key = WireGuardKeyPair.Generate().PrivateKey;
            WireGuardKeyFile.Write(path, key);
            test(path, key);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
