using System.Security.Cryptography;
using Microsoft.Extensions.Options;
using Relay.Contracts.Control;
using Relay.Tunnel.Links;

namespace Relay.CoreSim.Tests;

/// <summary>Issue 16 item 3: per-relay keys in core-sim's keyring (CoreSim:RelayKeys), the development key only in Development.</summary>
public sealed class BackhaulKeyTests
{
    private static readonly string s_keyA = LinkKey.Generate();

    [Test]
    [CancelAfter(30_000)]
    public async Task Keyring_RelayProvesItsOwnKey_AnyOtherKeyIsRefused(CancellationToken ct)
    {
        await using var host = await CoreSimFixture.StartAsync(o => o.RelayKeys["relay-a"] = s_keyA);

        await AssertOnlyItsOwnKeyOpensAsync(host, "relay-a", links: 2, ct);
    }

    [Test]
    [CancelAfter(30_000)]
    public async Task HealthReport_ClaimingAnotherRelayId_IsIgnored(CancellationToken ct)
    {
        await using var host = await CoreSimFixture.StartAsync();
        await using var relayB = CoreSimFixture.RelayPool(host, "relay-b");
        await relayB.WaitForLinksAsync(1, ct);

        relayB.SendHealthReport(ControlCodec.EncodeReport(Report("relay-a", RelayStatus.Sick)));
        relayB.SendHealthReport(ControlCodec.EncodeReport(Report("relay-b", RelayStatus.Degraded)));

        while (true)
        {
            var relays = (await CoreSimFixture.GetAsync(host, "/fleet")).GetProperty("relays").EnumerateArray().ToList();
            var b = relays.Single(r => r.GetProperty("relayId").GetString() == "relay-b");
            if (string.Equals(b.GetProperty("state").ToString(), "degraded", StringComparison.OrdinalIgnoreCase))
            {
                Assert.That(relays.Select(r => r.GetProperty("relayId").GetString()), Is.EqualTo(new[] { "relay-b" }), "the report claiming relay-a left no trace");
                return;
            }

            await Task.Delay(20, ct);
        }
    }

    [TestCase("--CoreSim:SharedKey=any-fleet-wide-key-0123456789", "CoreSim:SharedKey")]
    [TestCase("--CoreSim:RelayKeys:r1=relay-dev-shared-key-change-me", "CoreSim:RelayKeys:r1")]
    [TestCase("--CoreSim:RelayKeys:r1=c2hvcnQta2V5LTE2LWJ5dGVz", "CoreSim:RelayKeys:r1")]
    public void OutsideDevelopment_AFleetWideKeyOrADevelopmentOrWeakRelayKey_StopsStartUp(string argument, string setting)
    {
        var ex = Assert.Throws<OptionsValidationException>(() => CoreSimHost.Build(["--CoreSim:AdminKey=admin-key-0123456789abcdef", argument], environmentName: "Production"));
        Assert.That(ex!.Failures.Single(), Does.Contain(setting));
        Assert.That(ex.Failures.Single(), Does.Not.Contain("\n"));
    }

    [Test]
    public void OutsideDevelopment_RelayKeysFromTheKeygen_Start()
    {
        using var app = CoreSimHost.Build(["--CoreSim:AdminKey=admin-key-0123456789abcdef", $"--CoreSim:RelayKeys:r1={LinkKey.Generate()}", "--CoreSim:BackhaulPort=0", "--CoreSim:HttpPort=0"], environmentName: "Production");
        Assert.That(app, Is.Not.Null);
    }

    /// <summary>CoreSim:RelayKeysDirectory: one file per relay, named by its id (a relay id like sg-1 cannot be an
    /// environment variable's name: CoreSim__RelayKeys__sg-1 is refused by shells and systemd), 0600 like every key.</summary>
    [Test]
    [CancelAfter(30_000)]
    [System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
    public async Task KeysDirectory_ARelayProvesTheKeyInItsFile_AnyOtherKeyIsRefused(CancellationToken ct)
    {
        string dir = Relay.Testing.TempFolders.Create("relay-corekeys-");
        try
        {
            WriteKey(Path.Combine(dir, "sg-1.key"), s_keyA + "\n");
            await File.WriteAllTextAsync(Path.Combine(dir, "README"), "not a key", ct); // only *.key files are keys
            await using var host = await CoreSimFixture.StartAsync(o => o.RelayKeysDirectory = dir);

            await AssertOnlyItsOwnKeyOpensAsync(host, "sg-1", links: 1, ct);
        }
        finally
        {
            Relay.Testing.TempFolders.Remove(dir);
        }
    }

    [Test]
    [System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
    public void KeysDirectory_OutsideDevelopment_IsTheKeyring_AndABadFileStopsStartUpNamingIt()
    {
        string dir = Relay.Testing.TempFolders.Create("relay-corekeys-");
        try
        {
            WriteKey(Path.Combine(dir, "sg-1.key"), LinkKey.Generate());
            using (var app = CoreSimHost.Build(["--CoreSim:AdminKey=admin-key-0123456789abcdef", $"--CoreSim:RelayKeysDirectory={dir}", "--CoreSim:BackhaulPort=0", "--CoreSim:HttpPort=0"], environmentName: "Production"))
            {
                Assert.That(app, Is.Not.Null, "a folder of keygen keys is a keyring outside Development");
            }

            string open = Path.Combine(dir, "syd-1.key");
            File.WriteAllText(open, LinkKey.Generate());
            File.SetUnixFileMode(open, (UnixFileMode)0b110_100_100); // 0644: every user may read it
            var ex = Assert.Throws<OptionsValidationException>(() => CoreSimHost.Build(["--CoreSim:AdminKey=admin-key-0123456789abcdef", $"--CoreSim:RelayKeysDirectory={dir}"], environmentName: "Production"));
            Assert.That(ex!.Failures.Single(), Does.Contain("syd-1.key").And.Contain("chmod 600"));

            File.Delete(open);
            WriteKey(Path.Combine(dir, "syd-1.key"), "relay-dev-shared-key-change-me");
            ex = Assert.Throws<OptionsValidationException>(() => CoreSimHost.Build(["--CoreSim:AdminKey=admin-key-0123456789abcdef", $"--CoreSim:RelayKeysDirectory={dir}"], environmentName: "Production"));
            Assert.That(ex!.Failures.Single(), Does.Contain("syd-1"));

            ex = Assert.Throws<OptionsValidationException>(() => CoreSimHost.Build(["--CoreSim:AdminKey=admin-key-0123456789abcdef", $"--CoreSim:RelayKeysDirectory={Path.Combine(dir, "missing")}"], environmentName: "Production"));
            Assert.That(ex!.Failures.Single(), Does.Contain("CoreSim:RelayKeysDirectory").And.Contain("missing"));
        }
        finally
        {
            Relay.Testing.TempFolders.Remove(dir);
        }
    }

    /// <summary>The relay links with its own key (s_keyA); the development key does not open it.</summary>
    private static async Task AssertOnlyItsOwnKeyOpensAsync(CoreSimHost host, string relayId, int links, CancellationToken ct)
    {
        await using (var own = CoreSimFixture.RelayPool(host, relayId, Convert.FromBase64String(s_keyA), links))
        {
            await own.WaitForLinksAsync(links, ct);
        }

        await using var posing = CoreSimFixture.RelayPool(host, relayId, System.Text.Encoding.UTF8.GetBytes(LinkKey.DevelopmentKey));
        using var window = CancellationTokenSource.CreateLinkedTokenSource(ct);
        window.CancelAfter(TimeSpan.FromSeconds(2));
        Assert.That(async () => await posing.WaitForLinksAsync(1, window.Token), Throws.InstanceOf<OperationCanceledException>(),
            "the development key does not open a relay that has its own key");
    }

    [System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
    private static void WriteKey(string path, string key)
    {
        File.WriteAllText(path, key);
        File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
    }

    private static RelayHealthReport Report(string relayId, RelayStatus state) => new(
        relayId, "test", state, state, state == RelayStatus.Healthy ? [] : ["test"], 100, DateTimeOffset.UnixEpoch, 0,
        new DrainStatus(false, null, null, null, 0, 0, 0, string.Empty), new Dictionary<string, SignalReport>());
}
