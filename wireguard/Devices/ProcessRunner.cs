using System.Diagnostics;

namespace Relay.WireGuard.Devices;

/// <summary>Runs a tool (ip, wg) with an argument list (no shell), bounded in time.</summary>
internal static class ProcessRunner
{
    public static async Task<(int ExitCode, string Output, string Error)> RunAsync(string file, IEnumerable<string> arguments, CancellationToken cancellationToken, TimeSpan? timeout = null)
    {
        var start = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (string a in arguments)
        {
            start.ArgumentList.Add(a);
        }

        using var process = Process.Start(start) ?? throw new IOException($"could not start {file}");
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        limit.CancelAfter(timeout ?? TimeSpan.FromSeconds(15));
        var output = process.StandardOutput.ReadToEndAsync(limit.Token);
        var error = process.StandardError.ReadToEndAsync(limit.Token);
        try
        {
            await process.WaitForExitAsync(limit.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new IOException($"{file} {string.Join(' ', start.ArgumentList)} did not finish in time");
        }

        return (process.ExitCode, await output.ConfigureAwait(false), await error.ConfigureAwait(false));
    }

    /// <summary>
    /// The synchronous form, for set-up and tear-down code that cannot await (test labs, the WAN benchmark's lab):
    /// both streams are read concurrently (no pipe-buffer deadlock) and the wait is bounded. Throws
    /// <see cref="IOException"/> with the tool's error text when it fails or does not finish in time.
    /// </summary>
    public static string RunChecked(string file, IEnumerable<string> arguments, TimeSpan? timeout = null)
    {
        var start = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (string a in arguments)
        {
            start.ArgumentList.Add(a);
        }

        using var process = Process.Start(start) ?? throw new IOException($"could not start {file}");
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(timeout ?? TimeSpan.FromSeconds(15)))
        {
            process.Kill(entireProcessTree: true);
            throw new IOException($"`{file} {string.Join(' ', start.ArgumentList)}` did not finish in time");
        }

        process.WaitForExit(); // the process has exited: this only waits for the two readers to reach the end
        return process.ExitCode == 0
            ? output.GetAwaiter().GetResult()
            : throw new IOException($"`{file} {string.Join(' ', start.ArgumentList)}` failed ({process.ExitCode}): {error.GetAwaiter().GetResult().Trim()}");
    }

    /// <summary>Runs and throws <see cref="IOException"/> with the tool's error text when it fails.</summary>
    public static async Task<string> RunCheckedAsync(string file, IEnumerable<string> arguments, CancellationToken cancellationToken)
    {
        string[] args = [.. arguments];
        var (code, output, error) = await RunAsync(file, args, cancellationToken).ConfigureAwait(false);
        return code == 0 ? output : throw new IOException($"`{file} {string.Join(' ', args)}` failed ({code}): {error.Trim()}");
    }
}
