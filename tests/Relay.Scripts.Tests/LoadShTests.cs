using Relay.CoreSim;
using Relay.Testing;
using Relay.Testing.Processes;

namespace Relay.Scripts.Tests;

/// <summary>scripts/load.sh (./build.sh load) as a user runs it: from their own directory, with a relative --out.</summary>
[TestFixture]
[NonParallelizable]
public sealed class LoadShTests
{
    [TestCase("scripts/load.sh")]
    [TestCase("build.sh")]
    [TestCase("build.ps1")]
    [CancelAfter(600_000)]
    public async Task RelativeOut_AndTheDefault_LandInTheCallersDirectory_PrintedAbsolute(string script, CancellationToken ct)
    {
        if (!OperatingSystem.IsLinux())
        {
            Assert.Ignore("scripts/load.sh is a bash script");
        }

        await using var core = await CoreSimHost.StartAsync(o =>
        {
            o.BindAddress = "127.0.0.1";
            o.HttpPort = 0;
            o.BackhaulPort = 0;
        }, ct);
        string caller = TempFolders.Create("relay-load-sh-");
        string name = "lg-" + Guid.NewGuid().ToString("N")[..8]; // unique: a stray copy in the checkout is this test's own
        // ./build.sh load and ./build.ps1 load too: both go to the checkout first (a review found them losing the caller's folder).
        string[] launcher = script switch
        {
            "build.sh" => ["bash", Path.Combine(Repo.Root, "build.sh"), "load"],
            "build.ps1" => [await Pwsh.PathAsync(ct), "-NoLogo", "-NoProfile", "-NonInteractive", "-File", Path.Combine(Repo.Root, "build.ps1"), "load"],
            _ => ["bash", Path.Combine(Repo.Root, "scripts", "load.sh")],
        };
        string[] run = [.. launcher[1..], "idle", "--url", core.WebSocketUri.ToString(), "--token-url", new Uri(core.HttpUri, "/v1/tokens").ToString(),
            "--admin-key", core.AdminKey, "--sessions", "2", "--seconds", "1", "--progress", "off"];
        // The build the tests ran against (CONFIG, as build.sh takes it), so the script does not build Release first.
        var environment = new Dictionary<string, string> { ["CONFIG"] = Repo.Configuration };
        string checkoutDefault = Path.Combine(Repo.Root, "loadgen-results");
        bool hadDefault = Directory.Exists(checkoutDefault);
        try
        {
            var relative = await ProcessRunner.RunAsync(launcher[0], [.. run, "--out", name], ct, caller, environment);
            var byDefault = await ProcessRunner.RunAsync(launcher[0], run, ct, caller, environment);
            string results = Path.Combine(caller, name, "result.json");
            Assert.Multiple(() =>
            {
                Assert.That(relative.ExitCode, Is.Zero, relative.StdOut + relative.StdErr);
                Assert.That(File.Exists(results), Is.True, $"--out {name} from {caller}:\n{relative.StdOut}");
                Assert.That(Directory.Exists(Path.Combine(Repo.Root, name)), Is.False, "nothing in the checkout");
                Assert.That(relative.StdOut, Does.Contain($"Written: {results}"), "the absolute path");
                Assert.That(byDefault.ExitCode, Is.Zero, byDefault.StdOut + byDefault.StdErr);
                Assert.That(File.Exists(Path.Combine(caller, "loadgen-results", "result.json")), Is.True, "the default, ./loadgen-results, is the caller's too");
            });
        }
        finally
        {
            string stray = Path.Combine(Repo.Root, name);
            if (Directory.Exists(stray))
            {
                Directory.Delete(stray, recursive: true);
            }

            if (!hadDefault && Directory.Exists(checkoutDefault))
            {
                Directory.Delete(checkoutDefault, recursive: true); // made by this test, not a user's
            }
        }
    }
}
