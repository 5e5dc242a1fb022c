using System.Net.Sockets;
using Relay.Scripts.Tests;
using Relay.Testing;
using Relay.Testing.Processes;

namespace Relay.Packaging.Tests;

/// <summary>
/// Security review: packaging/systemd/wireguard.conf, the drop-in for a gateway that runs wireguard-go, as a real
/// systemd applies it (the manager of tests/Relay.Scripts.Tests/systemd-manager.sh: `systemd --user` as root in its own
/// namespaces, whose $XDG_RUNTIME_DIR stands for /run).
/// </summary>
[TestFixture]
[NonParallelizable]
public sealed class SystemdWireGuardDropInTests
{
    private static string UnitPath => Path.Combine(Repo.Root, "packaging", "systemd", "relay-gateway.service");

    private static string DropInPath => Path.Combine(Repo.Root, "packaging", "systemd", "wireguard.conf");

    /// <summary>
    /// /run/wireguard holds the UAPI socket of every wireguard-go tunnel on the host (wg-quick with wireguard-go, other
    /// services). The drop-in's <c>RuntimeDirectory=wireguard</c> makes systemd chown that folder, and recursively every
    /// socket in it, to the service user at each start: the relay user then owns root's wg0.sock and can read that
    /// tunnel's private key (UAPI get=1) or change its peers (set=1). The service must get a UAPI folder of its own
    /// (e.g. RuntimeDirectory=relay/wireguard bound over /run/wireguard with BindPaths=), never the host's.
    /// </summary>
    [Test]
    [CancelAfter(180_000)]
    [System.Runtime.Versioning.SupportedOSPlatform("linux")]
    public async Task WireGuardDropIn_AtStart_LeavesAnotherTunnelsUapiSocketToItsOwner(CancellationToken ct)
    {
        if (SystemdManager.CheckPrerequisites() is { } missing)
        {
            Assert.Ignore(missing);
        }

        using var systemd = await SystemdManager.StartAsync(ct);
        string runtime = Path.Combine(Path.GetDirectoryName(systemd.UnitsDir)!, "runtime"); // the manager's /run

        // Root's own userspace tunnel wg0 (wg-quick with wireguard-go): /run/wireguard 0755 root, wg0.sock 0600 root.
        string shared = Path.Combine(runtime, "wireguard");
        Directory.CreateDirectory(shared);
        File.SetUnixFileMode(shared, (UnixFileMode)0b111_101_101);
        string socketPath = Path.Combine(shared, "wg0.sock");
        using var wg0 = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        wg0.Bind(new UnixDomainSocketEndPoint(socketPath));
        wg0.Listen();
        File.SetUnixFileMode(socketPath, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        Assert.That(await OwnerAsync(socketPath, ct), Is.EqualTo("root:root"));

        // The packaged unit with the drop-in, as the relay user (nobody here: no relay user on a test machine); its
        // program a stand-in that exits at once. Everything else, the drop-in above all, as shipped.
        string unit = await OneShotUnitAsync("/bin/true", ct);
        Assert.That(unit, Does.Contain("ExecStart=/bin/true").And.Contain("User=nobody").And.Contain("Type=oneshot"));
        string unitFile = Path.Combine(systemd.UnitsDir, "relay-gateway.service");
        await File.WriteAllTextAsync(unitFile, unit, ct);
        Directory.CreateDirectory(unitFile + ".d");
        File.Copy(DropInPath, Path.Combine(unitFile + ".d", "wireguard.conf"));
        await systemd.RunAsync(["systemctl", "daemon-reload"], ct);

        // The start may fail after the directories are set up (the sandbox's mounts in a user manager); systemd makes
        // the unit's runtime folders first, and the unit's own one (RuntimeDirectory=relay) proves it got that far.
        var start = await systemd.RunAsync(["systemctl", "start", "relay-gateway.service"], ct);
        var status = await systemd.RunAsync(["systemctl", "status", "--no-pager", "relay-gateway.service"], ct);
        string context = $"systemctl start: {start.ExitCode} {start.StdErr}\n{status.StdOut}";
        Assert.That(Directory.Exists(Path.Combine(runtime, "relay")), Is.True, "the unit's runtime folders were set up: " + context);

        string socketOwner = await OwnerAsync(socketPath, ct), folderOwner = await OwnerAsync(shared, ct);
        Assert.Multiple(() =>
        {
            Assert.That(socketOwner, Is.EqualTo("root:root"), "another tunnel's UAPI socket stays root's (the relay user would read its private key): " + context);
            Assert.That(folderOwner, Is.EqualTo("root:root"), "the host's /run/wireguard stays root's (its owner can replace any tunnel's socket): " + context);
        });
    }

    /// <summary>wireguard-go, in the service, makes its socket in /run/wireguard: the drop-in's own folder is there.</summary>
    [Test]
    [CancelAfter(180_000)]
    [System.Runtime.Versioning.SupportedOSPlatform("linux")]
    public async Task WireGuardDropIn_TheServiceWritesInRunWireGuard_WhichIsItsOwnFolder(CancellationToken ct)
    {
        if (SystemdManager.CheckPrerequisites() is { } missing)
        {
            Assert.Ignore(missing);
        }

        using var systemd = await SystemdManager.StartAsync(ct);
        string runtime = Path.Combine(Path.GetDirectoryName(systemd.UnitsDir)!, "runtime"); // the manager's /run
        string unit = await OneShotUnitAsync("/bin/sh -c 'id -un > /run/wireguard/probe.sock'", ct);
        // A user manager cannot set up the unit's other sandboxing (226/NAMESPACE) or its state folder as /var/lib/relay
        // (200/CHDIR): those lines are left out here (SystemdUnitTests checks them with systemd-analyze); the drop-in's
        // folder and bind are what this test runs.
        unit = string.Join("\n", unit.Split('\n').Where(l => !System.Text.RegularExpressions.Regex.IsMatch(l, "^(Protect|Private|Restrict|ReadWrite|NoNewPriv|Capab|Ambient|LockPers|RemoveIPC|SystemCall|Memory|DeviceAllow|WorkingDirectory)")));
        string unitFile = Path.Combine(systemd.UnitsDir, "relay-gateway.service");
        await File.WriteAllTextAsync(unitFile, unit, ct);
        Directory.CreateDirectory(unitFile + ".d");
        // The manager's /run is its $XDG_RUNTIME_DIR: the bind's source is there.
        string dropIn = string.Join("\n", (await File.ReadAllTextAsync(DropInPath, ct)).Split('\n').Where(l => !System.Text.RegularExpressions.Regex.IsMatch(l, "^(Protect|Private|Restrict|Capab|Ambient|DeviceAllow)"))).Replace("BindPaths=/run/relay/wireguard:", $"BindPaths={runtime}/relay/wireguard:", StringComparison.Ordinal);
        await File.WriteAllTextAsync(Path.Combine(unitFile + ".d", "wireguard.conf"), dropIn, ct);
        await systemd.RunAsync(["systemctl", "daemon-reload"], ct);
        var start = await systemd.RunAsync(["systemctl", "start", "relay-gateway.service"], ct);
        var status = await systemd.RunAsync(["systemctl", "status", "--no-pager", "relay-gateway.service"], ct);
        TestContext.Out.WriteLine($"systemctl start: {start.ExitCode} {start.StdErr}\n{status.StdOut}");
        string probe = Path.Combine(runtime, "relay", "wireguard", "probe.sock");
        Assert.That(File.Exists(probe) ? (await File.ReadAllTextAsync(probe, ct)).Trim() : "(no file)", Is.EqualTo("nobody"), "the service user's /run/wireguard is /run/relay/wireguard");
    }

    /// <summary>
    /// An upgrade fixes an installed copy of the old drop-in: operators copy it into /etc, which the package does not
    /// own, and the old one's RuntimeDirectoryPreserve=yes left the host's /run/wireguard the relay user's until a reboot.
    /// The package's postinst runs packaging/systemd/migrate-wireguard-dropin.sh (here on a temporary folder's paths).
    /// </summary>
    [Test]
    [CancelAfter(60_000)]
    [System.Runtime.Versioning.SupportedOSPlatform("linux")]
    public async Task Upgrade_AnInstalledOldDropIn_IsReplaced_AndTheHostsFolderGivenBackToRoot(CancellationToken ct)
    {
        string dir = TempFolders.Create("relay-dropin-");
        try
        {
            string script = Path.Combine(Repo.Root, "packaging", "systemd", "migrate-wireguard-dropin.sh");
            string dropIn = Path.Combine(dir, "wireguard.conf");
            const string OldDropIn = "[Service]\nCapabilityBoundingSet=CAP_NET_BIND_SERVICE CAP_NET_ADMIN\nRuntimeDirectory=wireguard\nRuntimeDirectoryPreserve=yes\n";
            await File.WriteAllTextAsync(dropIn, OldDropIn, ct);
            string run = Path.Combine(dir, "run-wireguard");
            Directory.CreateDirectory(run);
            Assert.That((await ProcessRunner.RunAsync("chown", ["nobody:nogroup", run], ct)).ExitCode, Is.Zero, "as the old drop-in left it: the service user's");

            var migrate = await ProcessRunner.RunAsync("sh", [script, dropIn, run, DropInPath, "nobody"], ct);
            var again = await ProcessRunner.RunAsync("sh", [script, dropIn, run, DropInPath, "nobody"], ct);
            string now = await File.ReadAllTextAsync(dropIn, ct), shipped = await File.ReadAllTextAsync(DropInPath, ct);
            string kept = File.Exists(dropIn + ".dpkg-old") ? await File.ReadAllTextAsync(dropIn + ".dpkg-old", ct) : "(none)";
            string owner = await OwnerAsync(run, ct);
            Assert.Multiple(() =>
            {
                Assert.That(migrate.ExitCode, Is.Zero, migrate.StdErr);
                Assert.That(now, Is.EqualTo(shipped), "the shipped drop-in replaced the old copy");
                Assert.That(kept, Is.EqualTo(OldDropIn), "the old copy kept beside it");
                Assert.That(owner, Is.EqualTo("root:root"), "the host's /run/wireguard is root's again");
                Assert.That(migrate.StdErr, Does.Contain("replaced").And.Contain("given back to root"));
                Assert.That((again.ExitCode, again.StdErr), Is.EqualTo((0, string.Empty)), "a second run has nothing to do");
            });
        }
        finally
        {
            TempFolders.Remove(dir);
        }
    }

    /// <summary>The packaged unit as a one-shot of the relay user's stand-in (nobody: no relay user on a test machine)
    /// running <paramref name="execStart"/>; everything else as shipped.</summary>
    private static async Task<string> OneShotUnitAsync(string execStart, CancellationToken ct) =>
        (await File.ReadAllTextAsync(UnitPath, ct))
            .Replace("Type=notify\n", "Type=oneshot\n", StringComparison.Ordinal)
            .Replace("ExecStart=/opt/relay/gateway/Relay.Gateway --config /etc/relay/gateway.json\n", $"ExecStart={execStart}\n", StringComparison.Ordinal)
            .Replace("Restart=on-failure\n", "Restart=no\n", StringComparison.Ordinal)
            .Replace("User=relay\n", "User=nobody\n", StringComparison.Ordinal)
            .Replace("Group=relay\n", "Group=nogroup\n", StringComparison.Ordinal);

    private static async Task<string> OwnerAsync(string path, CancellationToken ct)
    {
        var stat = await ProcessRunner.RunAsync("stat", ["-c", "%U:%G", path], ct);
        return stat.StdOut.Trim();
    }
}
