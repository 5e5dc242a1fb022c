using Relay.Testing;
using Relay.Testing.Processes;

namespace Relay.Scripts.Tests;

/// <summary>
/// PowerShell for the build.ps1 tests: on Linux the pinned .NET tool that scripts/install-pwsh.sh installs (idempotent;
/// it prints the path), on Windows pwsh from PATH. Missing: ignored with the reason, but a failure under CI (CI=true),
/// where every suite must really run.
/// </summary>
internal static class Pwsh
{
    private static readonly SemaphoreSlim s_gate = new(1, 1);
    private static string? s_path;

    public static async Task<string> PathAsync(CancellationToken token)
    {
        await s_gate.WaitAsync(token);
        try
        {
            return s_path ??= await FindAsync(token);
        }
        finally
        {
            s_gate.Release();
        }
    }

    /// <summary>Runs <c>pwsh -NoProfile -NonInteractive -File build.ps1 ARGS</c> in the checkout to its end.</summary>
    public static async Task<ProcessResult> BuildPs1Async(CancellationToken token, params string[] args) =>
        await ProcessRunner.RunAsync(await PathAsync(token), ["-NoLogo", "-NoProfile", "-NonInteractive", "-File", Path.Combine(Repo.Root, "build.ps1"), .. args], token, Repo.Root);

    public static void Missing(string why)
    {
        string message = $"PowerShell is needed for the build.ps1 tests and {why} (bash scripts/install-pwsh.sh; ./build.sh test runs it)";
        if (Environment.GetEnvironmentVariable("CI") == "true")
        {
            Assert.Fail("CI=true: " + message);
        }

        Assert.Ignore(message);
    }

    private static async Task<string> FindAsync(CancellationToken token)
    {
        if (OperatingSystem.IsWindows())
        {
            string? onPath = (Environment.GetEnvironmentVariable("PATH") ?? string.Empty).Split(System.IO.Path.PathSeparator)
                .Select(d => System.IO.Path.Combine(d, "pwsh.exe")).FirstOrDefault(File.Exists);
            if (onPath is null)
            {
                Missing("pwsh.exe is not on PATH");
            }

            return onPath!;
        }

        using var limit = CancellationTokenSource.CreateLinkedTokenSource(token);
        limit.CancelAfter(TimeSpan.FromMinutes(5));
        var result = await ProcessRunner.RunAsync("bash", [System.IO.Path.Combine(Repo.Root, "scripts", "install-pwsh.sh")], limit.Token, Repo.Root);
        string path = result.StdOut.Trim();
        if (result.ExitCode != 0 || !File.Exists(path))
        {
            Missing($"scripts/install-pwsh.sh failed ({result.ExitCode}): {result.StdErr.Trim()}");
        }

        return path;
    }
}
