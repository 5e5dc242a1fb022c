using System.Globalization;
using Relay.Gateway.Configuration;
using Relay.Gateway.Edge;
using Relay.Testing;

namespace Relay.Packaging.Tests;

/// <summary>packaging/systemd/relay-gateway.service and its WireGuard drop-in, as systemd reads them.</summary>
public class SystemdUnitTests
{
    private static string UnitPath => Path.Combine(Repo.Root, "packaging", "systemd", "relay-gateway.service");

    private static string DropInPath => Path.Combine(Repo.Root, "packaging", "systemd", "wireguard.conf");

    [Test]
    public async Task Unit_SystemdAnalyzeVerify_PassesWithoutAWarning()
    {
        var result = await VerifyAsync(withDropIn: false);
        Assert.That((result.ExitCode, (result.StdOut + result.StdErr).Trim()), Is.EqualTo((0, "")), "systemd-analyze verify");
    }

    [Test]
    public async Task UnitWithWireGuardDropIn_SystemdAnalyzeVerify_PassesWithoutAWarning()
    {
        var result = await VerifyAsync(withDropIn: true);
        Assert.That((result.ExitCode, (result.StdOut + result.StdErr).Trim()), Is.EqualTo((0, "")), "systemd-analyze verify");
    }

    [Test]
    public async Task Unit_WithAnUnknownKey_FailsTheCheck()
    {
        // The check above must be able to fail: systemd-analyze prints an unknown key as a warning (exit code 0).
        string text = (await File.ReadAllTextAsync(UnitPath)).Replace("[Service]\n", "[Service]\nProtectSytem=strict\n", StringComparison.Ordinal);
        var result = await VerifyAsync(withDropIn: false, text);
        Assert.That(result.StdOut + result.StdErr, Does.Contain("ProtectSytem"));
    }

    [Test]
    public void Unit_IsANotifyServiceOfTheRelayUser_Sandboxed_WithoutReload()
    {
        var unit = Directives(File.ReadAllText(UnitPath));
        Assert.Multiple(() =>
        {
            Assert.That(unit["Type"], Is.EqualTo(["notify"]));
            Assert.That(unit["User"], Is.EqualTo(["relay"]));
            Assert.That(unit["ExecStart"].Single(), Does.StartWith("/opt/relay/gateway/Relay.Gateway --config /etc/relay/gateway.json"));
            Assert.That(unit.ContainsKey("ExecReload"), Is.False, "the gateway cannot apply a reload: its options are read once");
            Assert.That(unit["Restart"], Is.EqualTo(["on-failure"]));
            Assert.That(unit["RestartPreventExitStatus"], Is.EqualTo(["2"]), "a configuration error (exit 2) is not restarted");
            Assert.That(unit["ProtectSystem"], Is.EqualTo(["strict"]));
            Assert.That(unit["ProtectHome"], Is.EqualTo(["yes"]));
            Assert.That(unit["PrivateTmp"], Is.EqualTo(["yes"]));
            Assert.That(unit["NoNewPrivileges"], Is.EqualTo(["yes"]));
            Assert.That(unit["CapabilityBoundingSet"], Is.EqualTo(["CAP_NET_BIND_SERVICE"]));
            Assert.That(unit["StateDirectory"], Is.EqualTo(["relay"]));
        });
    }

    [Test]
    public void Unit_LimitNOFILE_GivesTheConnectionCapRoomAboveTheSessionCapacity()
    {
        var unit = Directives(File.ReadAllText(UnitPath));
        long files = long.Parse(unit["LimitNOFILE"].Single(), CultureInfo.InvariantCulture);
        var defaults = new GatewayOptions();
        var gate = new ConnectionGate(defaults, files);
        Assert.Multiple(() =>
        {
            // The gate's cap is the soft limit minus the reserve; systemd's default soft limit (1,024) would give 512.
            Assert.That(gate.MaxConnections, Is.EqualTo(files - ConnectionGate.FileReserve));
            Assert.That(gate.MaxConnections, Is.GreaterThanOrEqualTo(4 * defaults.Health.Capacity), "room for the sessions of a full relay and a connect storm");
            Assert.That(gate.MaxPreAuthConnections, Is.EqualTo(ConnectionGate.DefaultMaxPreAuthConnections));
        });
    }

    /// <summary>Every directive of a unit (or drop-in) file: name → values in order.</summary>
    internal static Dictionary<string, List<string>> Directives(string text)
    {
        var directives = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        foreach (string raw in text.Split('\n'))
        {
            string line = raw.Trim();
            if (line.Length == 0 || line[0] is '#' or ';' or '[' || line.IndexOf('=', StringComparison.Ordinal) is not (> 0 and var eq))
            {
                continue;
            }

            string key = line[..eq];
            if (!directives.TryGetValue(key, out var values))
            {
                directives[key] = values = [];
            }

            values.Add(line[(eq + 1)..]);
        }

        return directives;
    }

    /// <summary>
    /// systemd-analyze verify on a copy of the unit whose ExecStart names a stand-in executable (verify checks that it
    /// exists; the package test checks the real one), with the drop-in in the unit's .d folder when asked.
    /// </summary>
    private static async Task<Relay.Testing.Processes.ProcessResult> VerifyAsync(bool withDropIn, string? unitText = null)
    {
        string tool = Tools.Require("systemd-analyze", "apt-get install systemd");
        string dir = TempFolders.Create("relay-unit-");
        string gateway = Path.Combine(dir, "opt", "relay", "gateway", "Relay.Gateway");
        Directory.CreateDirectory(Path.GetDirectoryName(gateway)!);
        await File.WriteAllTextAsync(gateway, "#!/bin/sh\n");
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(gateway, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }
        string units = Path.Combine(dir, "units");
        Directory.CreateDirectory(units);
        string text = (unitText ?? await File.ReadAllTextAsync(UnitPath)).Replace("ExecStart=/opt/relay/", $"ExecStart={dir}/opt/relay/", StringComparison.Ordinal);
        string unit = Path.Combine(units, "relay-gateway.service");
        await File.WriteAllTextAsync(unit, text);
        if (withDropIn)
        {
            Directory.CreateDirectory(unit + ".d");
            File.Copy(DropInPath, Path.Combine(unit + ".d", "wireguard.conf"));
        }

        // The unit search path: this folder first (its .d drop-ins with it), then systemd's own (the trailing colon).
        return await Tools.RunAsync(tool, ["verify", "--no-pager", unit], TimeSpan.FromSeconds(60), new Dictionary<string, string> { ["SYSTEMD_UNIT_PATH"] = units + ":" }, dir);
    }
}
