using System.Diagnostics;
using System.Globalization;
using System.Net;

namespace Relay.Testing.Processes;

/// <summary>
/// A long-running child (a gateway, core-sim, HAProxy): its output kept as a bounded tail in memory and, when asked,
/// written whole to a log file. Ended by pid only: <see cref="Stop"/> (SIGTERM, then SIGKILL) or <see cref="Kill"/>.
/// </summary>
public sealed class ChildProcess : IDisposable
{
    private const int MaxLines = 500;
    private static readonly HttpClient s_http = new() { Timeout = TimeSpan.FromSeconds(5) };
    private readonly Process _process;
    private readonly Queue<string> _tail = new();
    private readonly List<(string Text, TaskCompletionSource Seen)> _watches = [];
    private readonly StreamWriter? _log;
    private volatile bool _disposed;

    private ChildProcess(string name, Process process, StreamWriter? log)
    {
        Name = name;
        _process = process;
        _log = log;
    }

    /// <summary>A short name for messages ("gateway", "core-sim", "gw1").</summary>
    public string Name { get; }

    public int Id => _process.Id;

    /// <summary>True once the process has ended (always true after <see cref="Dispose"/>, which ends it).</summary>
    public bool HasExited => _disposed || _process.HasExited;

    public int ExitCode => _process.ExitCode;

    /// <summary>The last 40 lines of output.</summary>
    public string Log => Tail(40);

    /// <summary>Starts <paramref name="command"/> (program, then arguments; no shell), output to <paramref name="logPath"/> when given.</summary>
    public static ChildProcess Start(string name, IReadOnlyList<string> command, string? logPath = null) =>
        Start(name, command, logPath, environment: null);

    /// <summary>As <see cref="Start(string, IReadOnlyList{string}, string?)"/>, with <paramref name="environment"/> added to (or, null values, removed from) the child's environment.</summary>
    public static ChildProcess Start(string name, IReadOnlyList<string> command, string? logPath, IReadOnlyDictionary<string, string?>? environment)
    {
        var start = new ProcessStartInfo(command[0]) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var (key, value) in environment ?? new Dictionary<string, string?>())
        {
            if (value is null)
            {
                start.Environment.Remove(key);
            }
            else
            {
                start.Environment[key] = value;
            }
        }

        foreach (string a in command.Skip(1))
        {
            start.ArgumentList.Add(a);
        }

        start.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        var log = logPath is null ? null : new StreamWriter(logPath) { AutoFlush = true };
        var process = Process.Start(start) ?? throw new IOException($"could not start {name}: {command[0]}");
        var child = new ChildProcess(name, process, log);
        process.OutputDataReceived += (_, e) => child.Capture(e.Data);
        process.ErrorDataReceived += (_, e) => child.Capture(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return child;
    }

    /// <summary>The last <paramref name="lines"/> lines of output.</summary>
    public string Tail(int lines)
    {
        lock (_tail)
        {
            return string.Join('\n', _tail.TakeLast(lines));
        }
    }

    /// <summary>Waits until a line of output contains <paramref name="text"/>; throws when the process exits first or the limit passes.</summary>
    public async Task WaitForOutputAsync(string text, TimeSpan limit, CancellationToken cancellationToken)
    {
        var seen = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_tail)
        {
            if (_tail.Any(l => l.Contains(text, StringComparison.Ordinal)))
            {
                return;
            }

            _watches.Add((text, seen));
        }

        var exited = _process.WaitForExitAsync(cancellationToken);
        var first = await Task.WhenAny(seen.Task, exited, Task.Delay(limit, cancellationToken)).ConfigureAwait(false);
        lock (_tail)
        {
            _watches.Remove((text, seen));
        }

        cancellationToken.ThrowIfCancellationRequested();
        if (first != seen.Task)
        {
            throw first == exited
                ? new InvalidOperationException($"{Name} exited ({ExitCode}) before writing '{text}':\n{Log}")
                : new TimeoutException($"{Name} did not write '{text}' in {limit.TotalSeconds} s:\n{Log}");
        }
    }

    /// <summary>
    /// Polls <paramref name="url"/> until it answers <paramref name="status"/> (with <paramref name="bodyContains"/> in
    /// the body when given) and returns the body; throws when the process exits or the limit passes, with the last answer.
    /// </summary>
    public async Task<string> WaitForHttpAsync(Uri url, HttpStatusCode status, TimeSpan limit, CancellationToken cancellationToken, string? bodyContains = null)
    {
        var until = Stopwatch.GetTimestamp() + (long)(limit.TotalSeconds * Stopwatch.Frequency);
        string last = "(no answer)";
        while (Stopwatch.GetTimestamp() < until)
        {
            if (HasExited)
            {
                throw new InvalidOperationException($"{Name} exited ({ExitCode}) while waiting for {url} to answer {(int)status}:\n{Log}");
            }

            try
            {
                using var response = await s_http.GetAsync(url, cancellationToken).ConfigureAwait(false);
                string body = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
                if (response.StatusCode == status && (bodyContains is null || body.Contains(bodyContains, StringComparison.Ordinal)))
                {
                    return body;
                }

                last = $"{(int)response.StatusCode} {body}";
            }
            catch (HttpRequestException e)
            {
                last = e.Message;
            }
            catch (TaskCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                last = "timeout";
            }

            await Task.Delay(100, cancellationToken).ConfigureAwait(false);
        }

        throw new TimeoutException($"{url} did not answer {(int)status} in {limit.TotalSeconds} s; last: {last}\n{Name}:\n{Log}");
    }

    /// <summary>SIGTERM (the child tears down what it set up, e.g. its tunnel), then SIGKILL after <paramref name="grace"/>.</summary>
    public void Stop(TimeSpan grace)
    {
        try
        {
            if (!_process.HasExited)
            {
                ProcessRunner.TryRun("kill", "-TERM", _process.Id.ToString(CultureInfo.InvariantCulture));
                if (!_process.WaitForExit(grace))
                {
                    Kill();
                }
            }
        }
        catch (InvalidOperationException)
        {
            // already gone
        }
    }

    /// <summary>SIGKILL: the process dies at once, sockets and all (with its children).</summary>
    public void Kill()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
                _process.WaitForExit(5000);
            }
        }
        catch (InvalidOperationException)
        {
            // already gone
        }
    }

    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        Kill();
        _disposed = true;
        _process.Dispose();
        lock (_tail)
        {
            _log?.Dispose();
        }
    }

    private void Capture(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_tail)
        {
            try
            {
                _log?.WriteLine(line);
            }
            catch (ObjectDisposedException)
            {
                // output after Dispose
            }

            _tail.Enqueue(line);
            if (_tail.Count > MaxLines)
            {
                _tail.Dequeue();
            }

            for (int i = _watches.Count - 1; i >= 0; i--)
            {
                if (line.Contains(_watches[i].Text, StringComparison.Ordinal))
                {
                    _watches[i].Seen.TrySetResult();
                    _watches.RemoveAt(i);
                }
            }
        }
    }
}
