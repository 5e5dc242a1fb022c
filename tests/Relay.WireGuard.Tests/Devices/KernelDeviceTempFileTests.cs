using Relay.WireGuard.Config;
using Relay.WireGuard.Devices;
using Relay.WireGuard.Keys;

namespace Relay.WireGuard.Tests.Devices;

/// <summary>
/// Security review: KernelDevice.ApplyAsync (a managed tunnel on the kernel backend) hands `wg setconf` its keys in a
/// file at a predictable path in the shared temporary folder: /tmp/relay-wg-IFACE-PID.conf, written through
/// /tmp/relay-wg-IFACE-PID.conf.tmp-PID created with O_EXCL. Any local user who creates that name first (the pid is
/// visible in ps; a run of upcoming pids costs a few empty files) makes the tunnel fail to come up, and with it the
/// gateway's or core-sim's start; outside the packaged unit (PrivateTmp=yes) nothing else protects it. The keys need
/// no file in a shared folder: `wg setconf IFACE /dev/stdin` with the text on standard input, or a file in a private
/// folder (Directory.CreateTempSubdirectory, 0700) with an unpredictable name.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class KernelDeviceTempFileTests
{
    [Test]
    [CancelAfter(30_000)]
    public async Task ApplyAsync_WhenAnotherUserHoldsThePredictableTempName_StillConfiguresTheDevice(CancellationToken ct)
    {
        if (!OperatingSystem.IsLinux() || !File.Exists("/bin/true"))
        {
            Assert.Ignore("Linux only");
        }

        const string name = "wg-review";
        string predictable = Path.Combine(Path.GetTempPath(), $"relay-wg-{name}-{Environment.ProcessId}.conf");
        string squatted = predictable + ".tmp-" + Environment.ProcessId;
        await File.WriteAllTextAsync(squatted, string.Empty, ct); // what another local user can create in /tmp
        var cleanup = new List<string>();
        try
        {
            // `wg` is a stand-in that keeps what `wg setconf IFACE FILE` was given; external mode (managed: false) runs no `ip`.
            string seen = Path.Combine(Path.GetTempPath(), $"relay-wg-seen-{Guid.NewGuid():N}");
            string wg = seen + ".sh";
            await File.WriteAllTextAsync(wg, $"#!/bin/sh\n[ \"$1\" = setconf ] && cat \"$3\" > '{seen}'\n", ct);
            File.SetUnixFileMode(wg, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            cleanup.Add(wg);
            cleanup.Add(seen);
            var device = new KernelDevice(name, managed: false, wgPath: wg, ipPath: "/bin/true");
            IpCidr.TryParse("10.90.0.2/32", out var address);
            IpCidr.TryParse("10.90.0.1/32", out var allowed);
            var config = new WireGuardConfig(
                new InterfaceConfig(WireGuardKeyPair.Generate().PrivateKey, [address!]),
                [new PeerConfig(WireGuardKeyPair.Generate().PublicKey, [allowed!], "192.0.2.1:51820", PersistentKeepalive: 25)]);

            Assert.That(async () => await device.ApplyAsync(config, ct), Throws.Nothing, "a name another user created in /tmp must not stop the tunnel");
            Assert.That(File.Exists(predictable), Is.False, "no key file is left in /tmp");
            Assert.That(await File.ReadAllTextAsync(seen, ct), Does.Contain("PrivateKey = " + config.Interface.PrivateKey.ToBase64()), "wg setconf got the keys");
        }
        finally
        {
            File.Delete(squatted);
            File.Delete(predictable);
            cleanup.ForEach(File.Delete);
        }
    }
}
