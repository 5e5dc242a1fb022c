using Relay.Testing;
using Relay.Testing.Processes;

namespace Relay.Interop.Tests;

/// <summary>Finds node and npm, installs tests/interop's packages when missing, runs a script as a real process.</summary>
internal static class NodeRunner
{
    public const string InstallHint = "Node.js 18+ with npm is needed for the npm ws interop test (Debian/Ubuntu: apt-get install nodejs npm; or https://nodejs.org); then run scripts/test-interop.sh";

    public static string InteropDirectory => Path.Combine(Repo.Root, "tests", "interop");

    /// <summary>The full path of a program on PATH, or null.</summary>
    public static string? Which(string name)
    {
        string[] suffixes = OperatingSystem.IsWindows() ? [".exe", ".cmd", ""] : [""];
        foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? string.Empty).Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
        {
            foreach (var suffix in suffixes)
            {
                string candidate = Path.Combine(dir, name + suffix);
                if (File.Exists(candidate))
                {
                    return candidate;
                }
            }
        }

        return null;
    }

    /// <summary>Returns node's path after making sure tests/interop/node_modules holds ws (npm ci from the lock file);
    /// ignores the test, naming what to install, when node or npm is missing.</summary>
    public static async Task<string> RequireNodeWithPackagesAsync(CancellationToken ct)
    {
        string node = Which("node") ?? throw new IgnoreException("node is not on PATH. " + InstallHint);
        if (!File.Exists(Path.Combine(InteropDirectory, "node_modules", "ws", "package.json")))
        {
            string npm = Which("npm") ?? throw new IgnoreException("tests/interop/node_modules is missing and npm is not on PATH. " + InstallHint);
            var install = await ProcessRunner.RunAsync(npm, ["ci", "--no-audit", "--no-fund"], ct, InteropDirectory);
            if (install.ExitCode != 0)
            {
                Assert.Fail($"npm ci in tests/interop failed ({install.ExitCode}):\n{install.StdOut}\n{install.StdErr}");
            }
        }

        return node;
    }
}
