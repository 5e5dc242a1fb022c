using System.Diagnostics;
using System.Text;

namespace Relay.Testing.Processes;

/// <summary>Runs a program to its end with an argument list (no shell), both output streams captured.</summary>
public static class ProcessRunner
{
    private static readonly TimeSpan s_toolLimit = TimeSpan.FromSeconds(15);

    /// <summary>
    /// Runs a short tool (ip, tc, kill) synchronously, for set-up and tear-down code that cannot await (a lab's
    /// Dispose, called from Ctrl-C too). Bounded by <paramref name="limit"/> (15 s by default); throws
    /// <see cref="IOException"/> with the tool's error text when it fails or does not finish in time.
    /// </summary>
    public static string Run(string[] command, TimeSpan? limit = null)
    {
        using var process = Start(command[0], command[1..], workingDirectory: null, environment: null, out var output, out var error);
        if (!process.WaitForExit(limit ?? s_toolLimit))
        {
            process.Kill(entireProcessTree: true);
            throw new IOException($"`{string.Join(' ', command)}` did not finish in {(limit ?? s_toolLimit).TotalSeconds} s");
        }

        process.WaitForExit(); // exited: this waits for both readers to reach the end
        return process.ExitCode == 0 ? Text(output) : throw new IOException($"`{string.Join(' ', command)}` failed ({process.ExitCode}): {Text(error).Trim()}");
    }

    /// <summary>Like <see cref="Run"/>, but null instead of an exception (tear-down: what is already gone is fine).</summary>
    public static string? TryRun(params string[] command)
    {
        try
        {
            return Run(command);
        }
        catch (Exception e) when (e is IOException or System.ComponentModel.Win32Exception)
        {
            return null;
        }
    }

    /// <summary>Runs a program to its end; killed with its children when <paramref name="cancellationToken"/> fires.</summary>
    public static async Task<ProcessResult> RunAsync(string fileName, IEnumerable<string> arguments, CancellationToken cancellationToken, string? workingDirectory = null, IReadOnlyDictionary<string, string>? environment = null)
    {
        using var process = Start(fileName, arguments, workingDirectory, environment, out var output, out var error);
        try
        {
            await process.WaitForExitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw;
        }

        process.WaitForExit(); // drains the redirected output
        return new ProcessResult(process.ExitCode, Text(output), Text(error));
    }

    private static Process Start(string fileName, IEnumerable<string> arguments, string? workingDirectory, IReadOnlyDictionary<string, string>? environment, out StringBuilder output, out StringBuilder error)
    {
        var start = new ProcessStartInfo(fileName) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        if (workingDirectory is not null)
        {
            start.WorkingDirectory = workingDirectory;
        }

        foreach (string a in arguments)
        {
            start.ArgumentList.Add(a);
        }

        foreach (var (key, value) in environment ?? new Dictionary<string, string>())
        {
            start.Environment[key] = value;
        }

        var process = new Process { StartInfo = start };
        StringBuilder stdout = new(), stderr = new();
        process.OutputDataReceived += (_, e) => Append(stdout, e.Data);
        process.ErrorDataReceived += (_, e) => Append(stderr, e.Data);
        if (!process.Start())
        {
            process.Dispose();
            throw new IOException($"could not start {fileName}");
        }

        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        (output, error) = (stdout, stderr);
        return process;
    }

    private static void Append(StringBuilder to, string? line)
    {
        if (line is not null)
        {
            lock (to)
            {
                to.AppendLine(line);
            }
        }
    }

    private static string Text(StringBuilder from)
    {
        lock (from)
        {
            return from.ToString();
        }
    }
}
