using System.Diagnostics;

namespace Relay.Testing.Processes;

/// <summary>
/// A built host (Relay.Gateway.dll, Relay.CoreSim.dll from this test's output folder) run as a real process, its
/// output captured line by line: for tests of start-up (exit codes, the one line a bad option prints).
/// </summary>
public sealed class HostProcess : IDisposable
{
    private readonly Process _process;
    private readonly List<string> _output = [];
    private readonly List<string> _error = [];

    private HostProcess(Process process)
    {
        _process = process;
    }

    /// <summary>Standard error so far.</summary>
    public IReadOnlyList<string> Error
    {
        get
        {
            lock (_error)
            {
                return [.. _error];
            }
        }
    }

    /// <summary>Standard output so far.</summary>
    public IReadOnlyList<string> Output
    {
        get
        {
            lock (_output)
            {
                return [.. _output];
            }
        }
    }

    /// <summary>Starts <c>dotnet DLL args</c> in a fresh folder (no appsettings), in the Production environment.</summary>
    public static HostProcess Start(string dll, params string[] args) => Start(dll, new Dictionary<string, string>(), args);

    /// <summary>
    /// As <see cref="Start(string, string[])"/>, with <paramref name="environment"/> set (after the host's own
    /// variables are removed). <paramref name="dll"/> may be absolute (a copy of a host's folder).
    /// </summary>
    public static HostProcess Start(string dll, IReadOnlyDictionary<string, string> environment, params string[] args)
    {
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = TempFolders.Create("relay-host-"),
        };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, dll));
        foreach (string arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        foreach (string name in start.Environment.Keys.Where(k => k.StartsWith("Gateway__", StringComparison.OrdinalIgnoreCase) || k.StartsWith("CoreSim__", StringComparison.OrdinalIgnoreCase) || k.EndsWith("_ENVIRONMENT", StringComparison.Ordinal)).ToList())
        {
            start.Environment.Remove(name);
        }

        foreach (var (name, value) in environment)
        {
            start.Environment[name] = value;
        }

        var process = Process.Start(start) ?? throw new InvalidOperationException("could not start " + dll);
        var host = new HostProcess(process);
        process.OutputDataReceived += (_, e) => Add(host._output, e.Data);
        process.ErrorDataReceived += (_, e) => Add(host._error, e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return host;
    }

    /// <summary>Waits for the process to exit (at most <paramref name="timeout"/>) and returns its exit code.</summary>
    public async Task<int> WaitForExitAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        await _process.WaitForExitAsync(cts.Token);
        _process.WaitForExit(); // drains the redirected output
        return _process.ExitCode;
    }

    /// <summary>Waits until a line of standard output contains <paramref name="text"/>; false if the process exits or time runs out first.</summary>
    public async Task<bool> WaitForOutputAsync(string text, TimeSpan timeout)
    {
        var deadline = Stopwatch.StartNew();
        while (deadline.Elapsed < timeout)
        {
            if (Output.Any(l => l.Contains(text, StringComparison.Ordinal)))
            {
                return true;
            }

            if (_process.HasExited)
            {
                return false;
            }

            await Task.Delay(50);
        }

        return false;
    }

    /// <summary>Kills the process (this one, by its handle) if it still runs.</summary>
    public void Dispose()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            _process.WaitForExit(10_000);
        }

        _process.Dispose();
    }

    private static void Add(List<string> lines, string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (lines)
        {
            lines.Add(line);
        }
    }
}
