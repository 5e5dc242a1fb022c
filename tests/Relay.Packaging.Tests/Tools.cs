using Relay.Testing.Processes;

namespace Relay.Packaging.Tests;

/// <summary>The outside tools these tests need (systemd-analyze, promtool, dpkg-deb), found on PATH.</summary>
internal static class Tools
{
    /// <summary>
    /// The tool's full path. Missing: the test fails under CI (CI=true: a check that did not run is not a pass) and
    /// is ignored elsewhere, saying what to install.
    /// </summary>
    public static string Require(string name, string install)
    {
        foreach (string dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries))
        {
            string path = Path.Combine(dir, name);
            if (File.Exists(path))
            {
                return path;
            }
        }

        string message = $"{name} is not installed: {install} (./build.sh test installs it when run as root)";
        if (Environment.GetEnvironmentVariable("CI") == "true")
        {
            Assert.Fail($"CI=true: {message}");
        }

        Assert.Ignore(message);
        return name;
    }

    /// <summary>Runs a tool to its end (bounded), both outputs captured.</summary>
    public static async Task<ProcessResult> RunAsync(string tool, IEnumerable<string> arguments, TimeSpan limit, IReadOnlyDictionary<string, string>? environment = null, string? workingDirectory = null)
    {
        using var cts = new CancellationTokenSource(limit);
        return await ProcessRunner.RunAsync(tool, arguments, cts.Token, workingDirectory, environment);
    }
}
