using System.Diagnostics;
using System.Globalization;

namespace Relay.AttackBench;

/// <summary>core-sim or the gateway as a Release process on loopback (as scripts/bench-gateway.sh starts them):
/// output to a log file, memory from /proc/PID/status, stopped by its pid only.</summary>
internal sealed class ServerProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StreamWriter _log;
    private bool _disposed;

    private ServerProcess(string name, Process process, StreamWriter log)
    {
        Name = name;
        _process = process;
        _log = log;
    }

    public string Name { get; }

    public int Pid => _process.Id;

    public bool Exited => _process.HasExited;

    public int? ExitCode => _process.HasExited ? _process.ExitCode : null;

    /// <summary>Starts <c>dotnet <paramref name="dll"/> args</c>; with <paramref name="idlePriority"/>, under
    /// <c>chrt --idle 0</c> (SCHED_IDLE, every thread: it runs only on CPU nothing else wants).</summary>
    public static ServerProcess Start(string name, string dll, string logPath, IEnumerable<string> args, bool idlePriority = false, IEnumerable<string>? environment = null)
    {
        if (!File.Exists(dll))
        {
            throw new FileNotFoundException($"{dll} is not built (dotnet build Relay.sln -c Release)", dll);
        }

        var start = new ProcessStartInfo(idlePriority ? "chrt" : "dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        if (idlePriority)
        {
            foreach (var a in new[] { "--idle", "0", "dotnet" })
            {
                start.ArgumentList.Add(a);
            }
        }

        start.ArgumentList.Add(dll);
        foreach (var pair in environment ?? [])
        {
            int eq = pair.IndexOf('=', StringComparison.Ordinal);
            start.Environment[pair[..eq]] = pair[(eq + 1)..];
        }

        foreach (var a in args)
        {
            start.ArgumentList.Add(a);
        }

        var log = new StreamWriter(logPath, append: true) { AutoFlush = true };
        var process = Process.Start(start) ?? throw new InvalidOperationException($"could not start {name}");
        var server = new ServerProcess(name, process, log);
        process.OutputDataReceived += (_, e) => server.Write(e.Data);
        process.ErrorDataReceived += (_, e) => server.Write(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return server;
    }

    /// <summary>Waits (at most 30 s) until <paramref name="url"/> answers 200.</summary>
    public async Task WaitHttpAsync(HttpClient http, string url, CancellationToken ct)
    {
        for (int i = 0; i < 150; i++)
        {
            if (Exited)
            {
                throw new InvalidOperationException($"{Name} exited with {ExitCode} before {url} answered");
            }

            try
            {
                using var r = await http.GetAsync(url, ct);
                if (r.IsSuccessStatusCode)
                {
                    return;
                }
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException && !ct.IsCancellationRequested)
            {
            }

            await Task.Delay(200, ct);
        }

        throw new TimeoutException($"{url} did not answer in 30 s");
    }

    /// <summary>VmRSS and VmHWM (peak) in KiB, or (0, 0) once the process is gone.</summary>
    public (long Rss, long Hwm) Memory()
    {
        long rss = 0, hwm = 0;
        try
        {
            foreach (var line in File.ReadLines($"/proc/{Pid}/status"))
            {
                if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
                {
                    rss = Kib(line);
                }
                else if (line.StartsWith("VmHWM:", StringComparison.Ordinal))
                {
                    hwm = Kib(line);
                }
            }
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }

        return (rss, hwm);

        static long Kib(string line) => long.Parse(line.AsSpan(6).Trim().TrimEnd("kB").Trim(), NumberStyles.None, CultureInfo.InvariantCulture);
    }

    /// <summary>CPU seconds (user + system) the process has used so far, or 0 once it is gone.</summary>
    public double CpuSeconds() => CpuSecondsOf(Pid);

    /// <summary>CPU seconds (user + system) of process <paramref name="pid"/> from /proc/PID/stat (clock ticks of 1/100 s), or 0.</summary>
    public static double CpuSecondsOf(int pid)
    {
        try
        {
            string stat = File.ReadAllText($"/proc/{pid}/stat");
            var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' '); // after "pid (comm) ": field 3 is fields[0]
            return (long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture)) / 100.0;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException or IndexOutOfRangeException)
        {
            return 0;
        }
    }

    /// <summary>SIGTERM, then SIGKILL after <paramref name="grace"/>; this process only.</summary>
    public async Task StopAsync(TimeSpan grace)
    {
        if (Exited)
        {
            return;
        }

        Native.Terminate(Pid);
        using var wait = new CancellationTokenSource(grace);
        try
        {
            await _process.WaitForExitAsync(wait.Token);
        }
        catch (OperationCanceledException)
        {
            _process.Kill(entireProcessTree: false);
            await _process.WaitForExitAsync(CancellationToken.None);
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        await StopAsync(TimeSpan.FromSeconds(10));
        _process.Dispose();
        await _log.DisposeAsync();
    }

    private void Write(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_log)
        {
            _log.WriteLine(line);
        }
    }
}
