using Relay.Testing;
using Relay.Testing.Processes;

namespace Relay.CoreSim.Tests;

/// <summary>Issue 19: core-sim reads appsettings.json beside its binary, whatever the working directory (<c>./build.sh run</c>).</summary>
public class AppSettingsTests
{
    [Test]
    public async Task Process_ReadsAppSettingsBesideItsBinary_FromAnotherWorkingDirectory()
    {
        if (Repo.MissingBuild() is { } missing)
        {
            Assert.Ignore(missing);
        }

        string source = Path.GetDirectoryName(Repo.CoreSimDll)!;
        string target = TempFolders.Create("relay-coresim-bin-");
        foreach (string file in Directory.EnumerateFiles(source, "*", SearchOption.AllDirectories))
        {
            string to = Path.Combine(target, Path.GetRelativePath(source, file));
            Directory.CreateDirectory(Path.GetDirectoryName(to)!);
            File.Copy(file, to);
        }

        // A setting only this file holds: a misspelt key, which start-up reports by name.
        await File.WriteAllTextAsync(Path.Combine(target, "appsettings.json"), "{ \"CoreSim\": { \"HttpPot\": 1 } }");

        using var core = HostProcess.Start(Path.Combine(target, "Relay.CoreSim.dll"));
        int code = await core.WaitForExitAsync(TimeSpan.FromSeconds(60));

        Assert.That(code, Is.EqualTo(2));
        Assert.That(core.Error, Is.EqualTo(new[] { "core-sim: configuration error: unknown setting CoreSim:HttpPot (did you mean CoreSim:HttpPort?)" }));
    }
}
