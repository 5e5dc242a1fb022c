using System.Diagnostics;
using System.Text;

namespace Relay.Interop.Tests;

/// <summary>Finds node and npm, installs tests/interop's packages when missing, runs a script as a real process.</summary>
internal static class NodeRunner
{
    public const string InstallHint = "Node.js 18+ with npm is needed for the npm ws interop test (Debian/Ubuntu: apt-get install nodejs npm; or https://nodejs.org); then run scripts/test-interop.sh";

    public static string RepoRoot { get; } = FindRepoRoot();

    public static string InteropDirectory => Path.Combine(RepoRoot, "tests", "interop");

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
            var install = await RunAsync(npm, ["ci", "--no-audit", "--no-fund"], InteropDirectory, new Dictionary<string, string>(), ct);
            if (install.ExitCode != 0)
            {
                Assert.Fail($"npm ci in tests/interop failed ({install.ExitCode}):\n{install.StdOut}\n{install.StdErr}");
            }
        }

        return node;
    }

    /// <summary>Runs a program to its end (killed with its children when <paramref name="ct"/> fires).</summary>
    public static async Task<ProcessResult> RunAsync(string fileName, IEnumerable<string> args, string workingDirectory, IReadOnlyDictionary<string, string> environment, CancellationToken ct)
    {
        var start = new ProcessStartInfo(fileName)
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var a in args)
        {
            start.ArgumentList.Add(a);
        }

        foreach (var (key, value) in environment)
        {
            start.Environment[key] = value;
        }

        using var process = new Process { StartInfo = start };
        var stdout = new StringBuilder();
        var stderr = new StringBuilder();
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                lock (stdout)
                {
                    stdout.AppendLine(e.Data);
                }
            }
        };
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                lock (stderr)
                {
                    stderr.AppendLine(e.Data);
                }
            }
        };
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        try
        {
            await process.WaitForExitAsync(ct);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw;
        }

        process.WaitForExit(); // drains the redirected output
        lock (stdout)
        {
            lock (stderr)
            {
                return new ProcessResult(process.ExitCode, stdout.ToString(), stderr.ToString());
            }
        }
    }

    private static string FindRepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Relay.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException("Relay.sln not found above " + AppContext.BaseDirectory);
    }
}

/// <summary>What a finished process wrote and returned.</summary>
internal sealed record ProcessResult(int ExitCode, string StdOut, string StdErr);
